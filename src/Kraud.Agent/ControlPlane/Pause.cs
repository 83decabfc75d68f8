namespace Kraud.Agent.ControlPlane;

/// <summary>A back-off wait that ends early, without throwing, when the loop is told to stop.</summary>
internal static class Pause
{
    /// <summary>Waits <paramref name="delay"/>; returns false when <paramref name="ct"/> fired instead.</summary>
    public static async Task<bool> ForAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
