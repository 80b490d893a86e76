import java.util.concurrent.CountDownLatch;

/**
 * A thread spins until another thread sets a flag. `virtual`: both are virtual threads on
 * one carrier (run with -Djdk.virtualThreadScheduler.parallelism=1): the JDK never
 * preempts the spinner, the other never runs, and the program spins until it is killed.
 * `virtual-sleep`: the spinner sleeps 1 ms in its loop, which unmounts it, so the other
 * runs. (Thread.yield() is only a hint: on JDK 25 with one carrier the yielding spinner was
 * scheduled again first, and the other still starved.)
 * `platform`: both are OS threads, and the kernel time-slices the spinner.
 */
public final class Starve {
    private static volatile boolean flag;

    public static void main(String[] args) throws InterruptedException {
        String mode = args.length == 1 ? args[0] : "";
        Thread.Builder threads = mode.equals("platform") ? Thread.ofPlatform() : Thread.ofVirtual();
        boolean sleeping = mode.equals("virtual-sleep");
        String carriers = System.getProperty("jdk.virtualThreadScheduler.parallelism");
        say("1 main: " + (mode.equals("platform") ? "platform threads"
                : "virtual threads on " + carriers + " carrier")
                + "; one spins until another sets a flag");
        CountDownLatch spinning = new CountDownLatch(1);
        Thread spinner = threads.start(() -> {
            spinning.countDown();
            while (!flag) {
                if (sleeping) {
                    pause();
                }
            }
            say("3 spinner: saw the flag and ends");
        });
        spinning.await(); // the other starts only once the spinner holds the carrier
        threads.start(() -> {
            say("2 other: runs while the spinner has not finished");
            flag = true;
        });
        spinner.join();
    }

    private static void pause() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
