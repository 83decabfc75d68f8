using System.Globalization;

namespace Kraud.Zfs.Schedule;

/// <summary>
/// A volume's schedule. Stored on the dataset as the user property <see cref="Property"/> ("1h=24,1d=7") so the
/// timer finds every scheduled volume with one `zfs list`, also after a restart, without the agent's memory.
/// </summary>
public sealed record SnapshotSchedule(IReadOnlyList<ScheduleRule> Rules)
{
    public const string Property = "kraud:schedule";
    public const string NamePrefix = "auto-";

    public static readonly SnapshotSchedule None = new([]);

    public string ToProperty() => string.Join(',', Rules.Select(r => r.Every + "=" + r.Keep.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Reads the property back; "-" or "" is no schedule; a bad entry is skipped (it was not written by us).</summary>
    public static SnapshotSchedule FromProperty(string? value)
    {
        if (string.IsNullOrEmpty(value) || value == "-") return None;
        var rules = new List<ScheduleRule>();
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=');
            if (kv.Length == 2 && int.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out int keep))
            {
                var rule = new ScheduleRule(kv[0], keep);
                if (rule.Problem() is null) rules.Add(rule);
            }
        }
        return new SnapshotSchedule(rules);
    }

    /// <summary>`auto-1h-20261121T2000Z`: the label and the UTC start of the slot.</summary>
    public static string SnapshotName(string every, DateTimeOffset slot) =>
        NamePrefix + every + "-" + slot.UtcDateTime.ToString("yyyyMMdd'T'HHmm'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parses an agent-made snapshot short name; false for anything else (user and foreign snapshots).</summary>
    public static bool TryParseName(string shortName, out string every, out DateTimeOffset slot)
    {
        every = ""; slot = default;
        if (!shortName.StartsWith(NamePrefix, StringComparison.Ordinal)) return false;
        int dash = shortName.LastIndexOf('-');
        if (dash <= NamePrefix.Length) return false;
        every = shortName[NamePrefix.Length..dash];
        if (ScheduleRule.ParsePeriod(every) is null) return false;
        if (!DateTime.TryParseExact(shortName[(dash + 1)..], "yyyyMMdd'T'HHmm'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)) return false;
        slot = new DateTimeOffset(t, TimeSpan.Zero);
        return true;
    }
}
