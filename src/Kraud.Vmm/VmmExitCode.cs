namespace Kraud.Vmm;

/// <summary>How the VMM process ends (contract sections 8 and 6); values follow sysexits.h where one fits.</summary>
public static class VmmExitCode
{
    /// <summary>The guest powered off (i8042 reset).</summary>
    public const int PowerOff = 0;
    /// <summary>EX_DATAERR: the launch file is invalid; nothing was touched.</summary>
    public const int InvalidLaunchFile = 65;
    /// <summary>EX_SOFTWARE: the guest failed fatally (triple fault, entry failure, emulation failure); registers are in the log.</summary>
    public const int GuestFault = 70;
    /// <summary>EX_UNAVAILABLE, the contract's "a required service or device is unavailable at start": the host could
    /// not provide /dev/kvm, a capability, a tap or a disk after the launch file passed validation.</summary>
    public const int Unavailable = 69;
    /// <summary>Anything else (the contract's 1): a failure of the VMM itself, logged with its stack.</summary>
    public const int InternalError = 1;
    /// <summary>Stopped by the caller (cancellation, SIGTERM).</summary>
    public const int Stopped = 143;
}
