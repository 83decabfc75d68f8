namespace Kraud.Testing;

/// <summary>Polls a condition until it holds or a deadline passes: tests wait for behaviour, never sleep blindly.</summary>
public static class Deadline
{
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what, int pollMs = 20)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            await Task.Delay(pollMs);
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, int pollMs = 20)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            await Task.Delay(pollMs);
        }
    }
}
