namespace Kraud.Agent.Config;

/// <summary>
/// Every key the file may hold, the one list: its JSON shape and where its value goes in <see cref="AgentConfig"/>.
/// The binder walks it for the file, the environment overrides for KRAUD_* variables; a key added here is read
/// from both, and a key not here is refused by both, naming it.
/// </summary>
internal static class ConfigSchema
{
    internal enum Shape { String, NullableString, Integer, Long, Boolean, StringArray, Section, ObjectArray }

    /// <summary>One key: a value (<see cref="Set"/> stores the converted value) or a section (<see cref="Children"/>).</summary>
    internal sealed record Key(string Name, Shape Shape, Action<AgentConfig, object?>? Set = null, IReadOnlyList<Key>? Children = null)
    {
        /// <summary>A secret's value never appears in an error: only its type does.</summary>
        public bool Secret { get; init; }
    }

    private static Key Value(string name, Shape shape, Action<AgentConfig, object?> set) => new(name, shape, set);
    private static Key Section(string name, params Key[] children) => new(name, Shape.Section, Children: children);

    /// <summary>A list of objects: <see cref="Key.Set"/> adds an item, then its children set that (last) item's keys.</summary>
    private static Key Items(string name, Action<AgentConfig> add, params Key[] children) => new(name, Shape.ObjectArray, (c, _) => add(c), children);

    internal static readonly IReadOnlyList<Key> Root =
    [
        Value("host", Shape.String, (c, v) => c.Host = (string)v!),
        Value("stateDir", Shape.String, (c, v) => c.StateDir = (string)v!),
        Value("concurrency", Shape.Integer, (c, v) => c.Concurrency = (int)v!),
        Value("shutdownGraceSeconds", Shape.Integer, (c, v) => c.ShutdownGraceSeconds = (int)v!),
        Value("replicas", Shape.Integer, (c, v) => c.Replicas = (int)v!),
        Section("nats",
            Value("servers", Shape.StringArray, (c, v) => c.Nats.Servers = (List<string>)v!),
            Value("user", Shape.NullableString, (c, v) => c.Nats.User = (string?)v),
            Value("password", Shape.NullableString, (c, v) => c.Nats.Password = (string?)v) with { Secret = true },
            Value("token", Shape.NullableString, (c, v) => c.Nats.Token = (string?)v) with { Secret = true },
            Value("caFile", Shape.NullableString, (c, v) => c.Nats.CaFile = (string?)v),
            Value("credsFile", Shape.NullableString, (c, v) => c.Nats.CredsFile = (string?)v),
            Value("nkeyFile", Shape.NullableString, (c, v) => c.Nats.NkeyFile = (string?)v),
            Value("certFile", Shape.NullableString, (c, v) => c.Nats.CertFile = (string?)v),
            Value("keyFile", Shape.NullableString, (c, v) => c.Nats.KeyFile = (string?)v)),
        Section("log",
            Value("target", Shape.String, (c, v) => c.Log.Target = (string)v!),
            Value("journalSocket", Shape.String, (c, v) => c.Log.JournalSocket = (string)v!),
            Value("level", Shape.String, (c, v) => c.Log.Level = (string)v!)),
        // The Pod kind (docs/contract.md, Pod): guest packages, trusted bali keys, the image cache's limits.
        Value("guestDir", Shape.String, (c, v) => c.GuestDir = (string)v!),
        Value("vmSupervisor", Shape.String, (c, v) => c.VmSupervisor = (string)v!),
        Value("allocatableVcpus", Shape.Integer, (c, v) => c.AllocatableVcpus = (int)v!),
        Items("registries", c => c.Registries.Add(new RegistryConfig()),
            Value("host", Shape.String, (c, v) => c.Registries[^1].Host = (string)v!),
            Value("caFile", Shape.NullableString, (c, v) => c.Registries[^1].CaFile = (string?)v),
            Value("username", Shape.NullableString, (c, v) => c.Registries[^1].Username = (string?)v),
            Value("password", Shape.NullableString, (c, v) => c.Registries[^1].Password = (string?)v) with { Secret = true },
            Value("plainHttp", Shape.Boolean, (c, v) => c.Registries[^1].PlainHttp = (bool)v!)),
        Value("trustedImageKeys", Shape.StringArray, (c, v) => c.TrustedImageKeys = (List<string>)v!),
        Section("imageCache",
            Value("maxBytes", Shape.Long, (c, v) => c.ImageCache.MaxBytes = (long)v!),
            Value("graceSeconds", Shape.Integer, (c, v) => c.ImageCache.GraceSeconds = (int)v!)),
        // The Volume kind's replication (replication.md): listener and TLS identity.
        Section("replication",
            Value("listen", Shape.NullableString, (c, v) => c.Replication.Listen = (string?)v),
            Value("certFile", Shape.NullableString, (c, v) => c.Replication.CertFile = (string?)v),
            Value("keyFile", Shape.NullableString, (c, v) => c.Replication.KeyFile = (string?)v),
            Value("caFile", Shape.NullableString, (c, v) => c.Replication.CaFile = (string?)v),
            Value("maxTransfers", Shape.Integer, (c, v) => c.Replication.MaxTransfers = (int)v!)),
    ];

    /// <summary>The key called <paramref name="name"/> among <paramref name="keys"/> (exact, or ignoring case for environment variables).</summary>
    internal static Key? Find(IReadOnlyList<Key> keys, string name, bool ignoreCase = false) =>
        keys.FirstOrDefault(k => string.Equals(k.Name, name, ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal));
}
