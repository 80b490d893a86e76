/* Linked into the sanitizer build only: the options are compiled in, because the lab starts
   servers with a small, explicit environment (no ASAN_OPTIONS). Any report ends the process
   with a non-zero status; leaks are checked at exit. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
    return "halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:"
           "strict_string_checks=1:check_initialization_order=1";
}

const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}
