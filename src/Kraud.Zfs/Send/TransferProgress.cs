namespace Kraud.Zfs.Send;

/// <summary>Bytes moved so far against the estimate from `zfs send -nP` (0 when unknown).</summary>
public readonly record struct TransferProgress(long Bytes, long EstimatedBytes)
{
    public double Fraction => EstimatedBytes > 0 ? Math.Min(1.0, (double)Bytes / EstimatedBytes) : 0;
}
