namespace Kraud.Agent.Hosting;

/// <summary>Process exit codes (contract section 6; sysexits.h values).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 64;
    public const int DataError = 65;
    public const int Unavailable = 69;
    public const int Config = 78;
}
