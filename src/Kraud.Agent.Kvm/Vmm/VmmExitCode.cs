namespace Kraud.Agent.Kvm.Vmm;

/// <summary>How the VMM process ends (contract section 8); values follow sysexits.h where one fits.</summary>
public static class VmmExitCode
{
    /// <summary>The guest powered off (i8042 reset).</summary>
    public const int PowerOff = 0;
    /// <summary>EX_DATAERR: the launch file is invalid; nothing was touched.</summary>
    public const int InvalidLaunchFile = 65;
    /// <summary>EX_SOFTWARE: the guest failed fatally (triple fault, entry failure, emulation failure); registers are in the log.</summary>
    public const int GuestFault = 70;
    /// <summary>EX_OSERR: the host could not provide something (KVM, a tap, a disk) after validation passed.</summary>
    public const int HostError = 71;
    /// <summary>Stopped by the caller (cancellation, SIGTERM).</summary>
    public const int Stopped = 143;
}
