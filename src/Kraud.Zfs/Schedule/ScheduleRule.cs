using System.Globalization;
using System.Text.RegularExpressions;

namespace Kraud.Zfs.Schedule;

/// <summary>
/// One rule of a snapshot schedule: `{ "every": "1h", "keep": 24 }`. `every` is a positive count of
/// m(inutes), h(ours), d(ays) or w(eeks); slots are aligned to the Unix epoch in UTC, so every host agrees.
/// </summary>
public sealed partial record ScheduleRule(string Every, int Keep)
{
    public const int MaxKeep = 10000;

    public TimeSpan Period => ParsePeriod(Every) ?? throw new FormatException($"every '{Every}' is not <n>m|h|d|w");

    /// <summary>The start of the slot <paramref name="now"/> is in.</summary>
    public DateTimeOffset SlotOf(DateTimeOffset now)
    {
        long p = (long)Period.TotalSeconds;
        long t = now.ToUnixTimeSeconds();
        return DateTimeOffset.FromUnixTimeSeconds(t - (((t % p) + p) % p));
    }

    /// <summary>Null when valid, else what is wrong with it (the caller names the field).</summary>
    public string? Problem()
    {
        if (ParsePeriod(Every) is null) return $"every '{Every}' is not a positive <n>m, <n>h, <n>d or <n>w";
        if (Keep < 1 || Keep > MaxKeep) return $"keep {Keep} is not between 1 and {MaxKeep}";
        return null;
    }

    public static TimeSpan? ParsePeriod(string? every)
    {
        if (every is null) return null;
        var m = EveryPattern().Match(every);
        if (!m.Success) return null;
        if (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n <= 0 || n > 100000) return null;
        return m.Groups[2].Value switch
        {
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            "d" => TimeSpan.FromDays(n),
            _ => TimeSpan.FromDays(7L * n),
        };
    }

    [GeneratedRegex("^([1-9][0-9]{0,5})([mhdw])$", RegexOptions.CultureInvariant)]
    private static partial Regex EveryPattern();
}
