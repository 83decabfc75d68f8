/*
 * kraud-vmm takes SIGTERM and SIGINT synchronously: blocked here, in an ELF constructor that runs before the .NET
 * runtime starts any thread, so every thread inherits the mask, none takes the default action, and Program.cs
 * collects them on a thread of its own with sigwaitinfo (Kraud.Libc.BlockedSignals). PosixSignalRegistration
 * would dispatch them on the thread pool, which brings its code and libm into this small binary.
 * SIGPIPE is ignored: a serial log FIFO whose reader went away gives EPIPE to the write, not death.
 */
#include <signal.h>

__attribute__((constructor)) static void kraud_vmm_block_stop_signals(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, 0);
    signal(SIGPIPE, SIG_IGN);
}
