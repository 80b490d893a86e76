package lab;

import java.lang.management.ManagementFactory;
import java.lang.management.PlatformManagedObject;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The process's settings from its environment (SPEC sections 1 and 7): HOST, PORT and the
 * model's knobs, each an integer >= 1 whose default is resolved here, never echoed.
 */
record Config(String model, String host, int port, Map<String, Integer> knobs) {

    static final String VIRTUAL = "virtual-threads";
    static final String PLATFORM = "platform-threads";
    static final String PARALLELISM = "VTHREAD_PARALLELISM";
    static final String OFFLOAD_THREADS = "OFFLOAD_THREADS";
    private static final String PARALLELISM_PROPERTY = "jdk.virtualThreadScheduler.parallelism";

    /** Reads the environment; IllegalArgumentException names what is wrong. */
    static Config fromEnvironment(String model, Map<String, String> env) {
        String port = env.getOrDefault("PORT", "8080");
        if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException(
                    "PORT must be a TCP port number, got '" + port + "'");
        }
        Map<String, Integer> knobs = new LinkedHashMap<>();
        if (model.equals(VIRTUAL)) {
            int cpus = Runtime.getRuntime().availableProcessors(); // affinity and cgroup aware
            String parallelism = env.get(PARALLELISM);
            if (parallelism != null) {
                // Read once, when the first virtual thread is created: nothing is yet.
                int carriers = knob(PARALLELISM, parallelism);
                System.setProperty(PARALLELISM_PROPERTY, Integer.toString(carriers));
            }
            knobs.put(PARALLELISM, schedulerParallelism());
            knobs.put(OFFLOAD_THREADS, knob(OFFLOAD_THREADS, env.getOrDefault(OFFLOAD_THREADS,
                    Integer.toString(cpus))));
        }
        return new Config(model, env.getOrDefault("HOST", "127.0.0.1"), Integer.parseInt(port),
                Collections.unmodifiableMap(knobs));
    }

    private static int knob(String name, String value) {
        if (!value.matches("[0-9]{1,9}") || Integer.parseInt(value) < 1) {
            throw new IllegalArgumentException(
                    name + " must be an integer >= 1, got '" + value + "'");
        }
        return Integer.parseInt(value);
    }

    /**
     * Carrier threads of the virtual-thread scheduler, as the scheduler itself reports them
     * (jdk.management.VirtualThreadSchedulerMXBean, JDK 24+); on JDK 21-23, the value the
     * scheduler is documented to take: the property, else the available processors.
     */
    private static int schedulerParallelism() {
        try {
            Class<? extends PlatformManagedObject> bean = Class
                    .forName("jdk.management.VirtualThreadSchedulerMXBean")
                    .asSubclass(PlatformManagedObject.class);
            return (int) bean.getMethod("getParallelism")
                    .invoke(ManagementFactory.getPlatformMXBean(bean));
        } catch (ReflectiveOperationException e) {
            return Integer.getInteger(PARALLELISM_PROPERTY,
                    Runtime.getRuntime().availableProcessors());
        }
    }

    String target() {
        return "java/" + model;
    }
}
