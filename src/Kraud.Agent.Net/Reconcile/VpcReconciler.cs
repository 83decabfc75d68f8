using System.Net;
using System.Text.Json.Nodes;
using Kraud.Agent.Net.Rtnl;
using Kraud.Agent.Net.WireGuard;
using Kraud.Libc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Net.Reconcile;

/// <summary>
/// Converges the host's VPC WireGuard interface on a <see cref="VpcSpec"/>: interface, private key, MTU,
/// listen port, peers (diffed one by one so live sessions survive), addresses and routes. Idempotent.
/// Works in the caller's namespace or in <paramref name="ns"/>; <paramref name="backend"/> forces kernel
/// or userspace (default: kernel when the module is there).
/// </summary>
public sealed class VpcReconciler(NetNs? ns = null, WgBackendKind? backend = null, ILogger? logger = null)
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    /// <summary>
    /// Converges the interface on <paramref name="spec"/>. <paramref name="owner"/>, the resource id, is written as
    /// the interface's alias (<see cref="OwnerAlias"/>) so a delete without a spec still finds what to remove.
    /// </summary>
    public Task<JsonObject> ReconcileAsync(VpcSpec spec, string stateDir, CancellationToken ct = default, string? owner = null)
    {
        spec.Validate();
        return Task.Run(() => Reconcile(spec, stateDir, owner, ct), ct);
    }

    /// <summary>Removes the interface (its addresses and routes go with it). The key stays: it is the host's VPC identity.</summary>
    public Task DeleteAsync(string interfaceName, CancellationToken ct = default) => Task.Run(() =>
    {
        using var rt = RtNetlink.Open(ns);
        DeleteLink(rt, interfaceName, ct);
    }, ct);

    /// <summary>
    /// Deletes resource <paramref name="owner"/>'s interfaces: <paramref name="interfaceName"/> when the spec is known,
    /// and every link tagged with the owner, so a delete without a spec (never applied here, or the state directory
    /// lost) removes what exists and succeeds when nothing does. Returns the names it deleted.
    /// </summary>
    public Task<List<string>> DeleteOwnedAsync(string owner, string? interfaceName, CancellationToken ct = default) => Task.Run(() =>
    {
        using var rt = RtNetlink.Open(ns);
        string alias = OwnerAlias(owner);
        var names = rt.LinkList().Where(l => l.Alias == alias).Select(l => l.Name).ToList();
        if (interfaceName is not null && !names.Contains(interfaceName)) names.Insert(0, interfaceName);
        var deleted = names.Where(n => DeleteLink(rt, n, ct)).ToList();
        if (rt.LinkList().FirstOrDefault(l => l.Alias == alias) is { } left)
            throw new InvalidOperationException($"interface \"{left.Name}\" of {owner} is still there after its delete");
        return deleted;
    }, ct);

    /// <summary>The alias that marks a VPC interface as resource <paramref name="owner"/>'s.</summary>
    public static string OwnerAlias(string owner) => "kraud:vpc:" + owner;

    private bool DeleteLink(RtNetlink rt, string name, CancellationToken ct)
    {
        bool found = false;
        if (rt.LinkFind(name) is { } link)
        {
            rt.LinkDel(link.Index);
            _log.LogInformation("deleted VPC interface {Interface}", name);
            found = true;
        }
        WaitForUapiSocketGone(name, ct);
        return found;
    }

    private JsonObject Reconcile(VpcSpec spec, string stateDir, string? owner, CancellationToken ct)
    {
        using var scope = _log.BeginScope(new Dictionary<string, object> { ["Kind"] = "Vpc", ["Id"] = spec.Interface });
        var key = VpcKeyStore.LoadOrCreate(stateDir, spec.Interface);
        using var rt = RtNetlink.Open(ns);
        using var wg = WireGuardClient.Open(ns, backend);
        string name = spec.Interface;

        var link = EnsureInterface(rt, wg, name);
        if (owner is not null && link.Alias != OwnerAlias(owner)) rt.LinkSetAlias(link.Index, OwnerAlias(owner));
        ct.ThrowIfCancellationRequested();
        int mtu = spec.Mtu ?? VpcSpec.DefaultMtu;
        if (link.Mtu != mtu) rt.LinkSetMtu(link.Index, mtu);

        var device = wg.GetDevice(name);
        var config = Diff(spec, key, device);
        if (config is not null)
        {
            wg.ConfigureDevice(name, config);
            _log.LogInformation("configured {Interface}: {Peers} peer change(s)", name, config.Peers.Count);
        }
        if (!link.IsUp) rt.LinkSetUp(link.Index);
        ct.ThrowIfCancellationRequested();

        ConvergeAddresses(rt, link.Index, spec.Addresses.Select(IpPrefix.Parse).ToList());
        ConvergeRoutes(rt, link.Index, spec.Routes.Select(r => IpPrefix.Parse(r.Destination).Network).ToList());

        return Observe(rt, wg, name, wg.Kind);
    }

    private Link EnsureInterface(RtNetlink rt, IWireGuardBackend wg, string name)
    {
        var link = rt.LinkFind(name);
        string expectedKind = wg.Kind == WgBackendKind.Kernel ? "wireguard" : "tun";
        if (link is not null && wg.Kind == WgBackendKind.Userspace && !File.Exists(UserspaceWireGuard.SocketPath(name)))
        {
            // A tun left behind by a wireguard-go that died: nothing can configure it, start over.
            _log.LogWarning("{Interface} exists without its wireguard-go socket; recreating it", name);
            rt.LinkDel(link.Index);
            link = null;
        }
        if (link is null)
        {
            wg.CreateInterface(name);
            _log.LogInformation("created {Interface} ({Backend})", name, wg.Kind);
            return rt.LinkGet(name);
        }
        if (link.Kind != expectedKind)
            throw new InvalidOperationException($"interface \"{name}\" exists but is a {link.Kind ?? "plain"} link, not {expectedKind}: refusing to touch it");
        return link;
    }

    /// <summary>The smallest change from <paramref name="device"/> to the spec, or null when it already matches.</summary>
    public static WgConfig? Diff(VpcSpec spec, WgKey key, WgDevice device)
    {
        var changes = new List<WgPeerConfig>();
        var existing = device.Peers.ToDictionary(p => p.PublicKey);
        var wanted = new HashSet<WgKey>();
        foreach (var p in spec.Peers)
        {
            var pk = WgKey.Parse(p.PublicKey);
            wanted.Add(pk);
            var endpoint = p.Endpoint is null ? null : IPEndPoint.Parse(p.Endpoint);
            var allowed = p.AllowedIps.Select(a => IpPrefix.Parse(a).Network).Distinct().ToList();
            if (!existing.TryGetValue(pk, out var have))
            {
                changes.Add(new WgPeerConfig(pk)
                {
                    Endpoint = endpoint, PersistentKeepaliveSeconds = p.PersistentKeepalive ?? 0, ReplaceAllowedIps = true, AllowedIps = allowed,
                });
                continue;
            }
            // In place, UPDATE_ONLY: the peer's session and handshake stay.
            bool endpointChanged = endpoint is not null && !endpoint.Equals(have.Endpoint);
            bool keepaliveChanged = (p.PersistentKeepalive ?? 0) != have.PersistentKeepaliveSeconds;
            bool allowedChanged = !SameSet(allowed, have.AllowedIps);
            if (!endpointChanged && !keepaliveChanged && !allowedChanged) continue;
            changes.Add(new WgPeerConfig(pk)
            {
                UpdateOnly = true,
                Endpoint = endpointChanged ? endpoint : null,
                PersistentKeepaliveSeconds = keepaliveChanged ? p.PersistentKeepalive ?? 0 : null,
                ReplaceAllowedIps = allowedChanged,
                AllowedIps = allowedChanged ? allowed : [],
            });
        }
        foreach (var p in device.Peers)
            if (!wanted.Contains(p.PublicKey)) changes.Add(new WgPeerConfig(p.PublicKey) { Remove = true });

        bool keyChanged = device.PrivateKey != key;
        bool portChanged = spec.ListenPort is { } port && port != device.ListenPort;
        if (!keyChanged && !portChanged && changes.Count == 0) return null;
        return new WgConfig
        {
            PrivateKey = keyChanged ? key : null,
            ListenPort = portChanged ? spec.ListenPort : null,
            Peers = changes,
        };
    }

    private static bool SameSet(List<IpPrefix> wanted, List<IpPrefix> have)
    {
        // The common case, one allowed IP per peer, without building sets.
        if (wanted.Count == 1 && have.Count == 1) return wanted[0] == have[0].Network;
        return wanted.ToHashSet().SetEquals(have.Select(a => a.Network));
    }

    private static void ConvergeAddresses(RtNetlink rt, int index, List<IpPrefix> wanted)
    {
        var have = rt.AddrList(index).Where(a => a.Scope == 0).ToList(); // leave link-local alone
        foreach (var a in have)
            if (!wanted.Any(w => w.Address.Equals(a.Prefix.Address) && w.PrefixLength == a.Prefix.PrefixLength)) rt.AddrDel(index, a.Prefix);
        foreach (var w in wanted)
            if (!have.Any(a => w.Address.Equals(a.Prefix.Address) && w.PrefixLength == a.Prefix.PrefixLength)) rt.AddrReplace(index, w);
    }

    private static void ConvergeRoutes(RtNetlink rt, int index, List<IpPrefix> wanted)
    {
        var have = rt.RouteList(10).Concat(rt.RouteList(2))
            .Where(r => r.OutputIndex == index && r.Protocol == RouteProtocols.Kraud).ToList();
        foreach (var r in have)
            if (!wanted.Contains(r.Destination)) rt.RouteDel(r);
        foreach (var w in wanted)
            if (!have.Any(r => r.Destination == w)) rt.RouteReplace(new Route(w) { OutputIndex = index, Protocol = RouteProtocols.Kraud });
    }

    private static JsonObject Observe(RtNetlink rt, IWireGuardBackend wg, string name, WgBackendKind kind)
    {
        var link = rt.LinkGet(name);
        var device = wg.GetDevice(name);
        var peers = new JsonArray();
        foreach (var p in device.Peers)
        {
            peers.Add((JsonNode)new JsonObject
            {
                ["publicKey"] = p.PublicKey.ToString(),
                ["endpoint"] = p.Endpoint?.ToString(),
                ["allowedIps"] = new JsonArray(p.AllowedIps.Select(a => (JsonNode?)JsonValue.Create(a.ToString())).ToArray()),
                ["persistentKeepalive"] = p.PersistentKeepaliveSeconds,
                ["latestHandshake"] = p.LastHandshake?.ToString("O"),
            });
        }
        return new JsonObject
        {
            ["interface"] = name,
            ["ifindex"] = link.Index,
            ["backend"] = kind == WgBackendKind.Kernel ? "kernel" : "userspace",
            ["publicKey"] = device.PublicKey?.ToString(),
            ["listenPort"] = device.ListenPort,
            ["mtu"] = link.Mtu,
            ["up"] = link.IsUp,
            ["addresses"] = new JsonArray(rt.AddrList(link.Index).Where(a => a.Scope == 0).Select(a => (JsonNode?)JsonValue.Create(a.Prefix.ToString())).ToArray()),
            ["peers"] = peers,
        };
    }

    private static void WaitForUapiSocketGone(string name, CancellationToken ct)
    {
        // wireguard-go exits and removes its socket once its tun is gone; wait so a re-create cannot race it.
        string path = UserspaceWireGuard.SocketPath(name);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (File.Exists(path) && DateTime.UtcNow < until)
        {
            ct.ThrowIfCancellationRequested();
            Thread.Sleep(10);
        }
    }
}
