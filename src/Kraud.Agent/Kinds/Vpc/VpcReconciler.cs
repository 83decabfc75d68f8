using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kraud.Libc;
using Kraud.Net.Rtnl;
using Kraud.Net.Sysctl;
using Kraud.Net.WireGuard;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kraud.Agent.Kinds.Vpc;

/// <summary>
/// Converges a Vpc on a <see cref="VpcSpec"/>: its VRF (<see cref="VpcDomain"/>: the tenant's routing domain), its
/// WireGuard interface in that VRF (private key, MTU, listen port, peers diffed one by one so live sessions survive),
/// addresses, and routes in the VRF's table; nothing of it in the main table. Idempotent.
/// Works in the caller's namespace or in <paramref name="ns"/>; <paramref name="backend"/> forces kernel
/// or userspace (default: kernel when the module is there).
/// Every reconcile reads the whole WireGuard device and compares it with the spec as the dump arrives
/// (<see cref="WgDeviceTemplate"/>), so a device changed behind the agent's back is repaired at the next reconcile;
/// what an unchanged reconcile of a big Vpc costs is O(peers) only in that compare, never in building copies.
/// </summary>
public sealed class VpcReconciler(NetNs? ns = null, WgBackendKind? backend = null, ILogger? logger = null, VpcPublicKeys? publicKeys = null)
    : IReconciler, IDisposable
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    /// <summary>
    /// Per Vpc, its spec as last read from an envelope: validated and turned into the device it wants, kept with the
    /// spec's raw JSON. An unchanged spec (10,000 peers: hundreds of ms to bind, check and prepare under TCG) costs one
    /// comparison of its bytes (a SHA-256 of them cost 100 ms and more under TCG).
    /// </summary>
    private readonly ConcurrentDictionary<string, PreparedSpec> _prepared = new(StringComparer.Ordinal);

    private sealed record PreparedSpec(byte[] Json, VpcSpec Spec, WgDeviceTemplate Wanted);

    // One rtnetlink and one WireGuard socket for the reconciler's life (each request is serialized on its socket):
    // opening them in a namespace costs a thread each, and a generic netlink family lookup.
    private readonly Lock _open = new();
    private RtNetlink? _rt;
    private IWireGuardBackend? _wg;

    private RtNetlink Rt()
    {
        lock (_open) return _rt ??= RtNetlink.Open(ns);
    }

    private IWireGuardBackend Wg()
    {
        lock (_open) return _wg ??= WireGuardClient.Open(ns, backend, _log);
    }

    public void Dispose()
    {
        lock (_open)
        {
            _rt?.Dispose();
            _wg?.Dispose();
            _rt = null;
            _wg = null;
        }
    }

    public string Kind => ResourceKinds.Vpc;

    /// <summary>
    /// The work engine's entry: converges or deletes Vpc <c>envelope.Id</c>. The interface's public key goes to
    /// <paramref name="publicKeys"/> (the host record) from the first reconcile until the delete.
    /// </summary>
    public async Task<JsonObject?> ReconcileAsync(ResourceEnvelope envelope, ReconcileContext context, CancellationToken ct)
    {
        if (envelope.Deleted)
        {
            _prepared.TryRemove(envelope.Id, out _);
            return await DeleteAsync(envelope, ct).ConfigureAwait(false);
        }
        var prepared = Prepare(envelope);
        var observed = await Task.Run(() => Reconcile(prepared.Spec, prepared.Wanted, context.StateDir, envelope.Id, ct), ct).ConfigureAwait(false);
        if (observed["publicKey"]?.GetValue<string>() is { } publicKey)
            publicKeys?.Set(new VpcWireguard(envelope.Id, (string)observed["interface"]!, publicKey, (int?)observed["listenPort"]));
        return observed;
    }

    /// <summary>The envelope's spec, bound, validated and prepared: once per distinct spec (its raw JSON).</summary>
    private PreparedSpec Prepare(ResourceEnvelope envelope)
    {
        if (envelope.Spec.ValueKind != JsonValueKind.Object) envelope.ReadSpec(VpcJsonContext.Default.VpcSpec); // throws "spec: required"
        var json = JsonMarshal.GetRawUtf8Value(envelope.Spec);
        if (_prepared.TryGetValue(envelope.Id, out var known) && json.SequenceEqual(known.Json)) return known;
        var spec = envelope.ReadSpec(VpcJsonContext.Default.VpcSpec);
        var prepared = new PreparedSpec(json.ToArray(), spec, Wanted(spec));
        _prepared[envelope.Id] = prepared;
        return prepared;
    }

    /// <summary>The device a spec wants, in WireGuard's terms; the spec is checked on the way (throws naming the bad field).</summary>
    public static WgDeviceTemplate Wanted(VpcSpec spec) => new(spec.ListenPort, spec.Validate());

    /// <summary>Removes the spec's interface, if a spec is known, and every interface tagged as this resource's.</summary>
    private async Task<JsonObject> DeleteAsync(ResourceEnvelope envelope, CancellationToken ct)
    {
        var spec = envelope.ReadSpecIfAny(VpcJsonContext.Default.VpcSpec);
        spec?.Validate();
        var deleted = await DeleteOwnedAsync(envelope.Id, spec?.Interface, ct).ConfigureAwait(false);
        publicKeys?.Remove(envelope.Id);
        return new JsonObject
        {
            ["interface"] = spec?.Interface ?? deleted.FirstOrDefault(),
            ["deletedInterfaces"] = new JsonArray(deleted.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["deleted"] = true,
        };
    }

    /// <summary>
    /// Converges the interface on <paramref name="spec"/>. <paramref name="owner"/>, the resource id, is the mark: the
    /// interface carries the alias <see cref="OwnerAlias"/>(owner) from its creation, and an interface of the spec's
    /// name without that alias, or that is no WireGuard link, is someone else's: refused (<see cref="ForeignObjectException"/>)
    /// and left untouched. A route to a spec destination that is not the agent's (protocol <see cref="RouteProtocols.Kraud"/>)
    /// is refused the same way.
    /// </summary>
    public Task<JsonObject> ReconcileAsync(VpcSpec spec, string stateDir, string owner, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var wanted = Wanted(spec);
        return Task.Run(() => Reconcile(spec, wanted, stateDir, owner, ct), ct);
    }

    /// <summary>
    /// Deletes resource <paramref name="owner"/>'s interfaces: every link tagged with the owner, and
    /// <paramref name="interfaceName"/> when the spec is known, so a delete without a spec (never applied here, or the
    /// state directory lost) removes what exists and succeeds when nothing does. Removes only links that carry the
    /// owner's alias and are WireGuard links (kernel wireguard or wireguard-go's tun); anything else it finds so is
    /// refused (<see cref="ForeignObjectException"/>) before any link is deleted. The key stays: it is the host's VPC
    /// identity. Returns the names it deleted.
    /// </summary>
    public Task<List<string>> DeleteOwnedAsync(string owner, string? interfaceName, CancellationToken ct = default) => Task.Run(() =>
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var rt = Rt();
        string alias = OwnerAlias(owner);
        var all = rt.LinkList();
        var links = all.Where(l => l.Alias == alias).ToList();
        if (interfaceName is not null && !links.Any(l => l.Name == interfaceName) && rt.LinkFind(interfaceName) is { } named)
            throw NotOurs(named, owner);
        string vrfName = VpcDomain.VrfName(owner);
        bool IsOurVrf(Link l) => l.Kind == "vrf" && l.Name == vrfName;
        foreach (var l in links.Where(l => !IsOurVrf(l))) CheckKind(l, owner);
        if (links.FirstOrDefault(IsOurVrf) is { } vrf && VpcVrf.Tenants(all, vrf, owner) is { Count: > 0 } tenants)
            throw new TransientReconcileException(
                $"VRF {vrf.Name} of {owner} still holds {string.Join(", ", tenants.Select(t => t.Name))}: its overlays and pods go first");
        // The WireGuard interface first, then the VRF (its table's routes go with the links).
        var deleted = links.OrderBy(IsOurVrf).Where(l => DeleteLink(rt, l, ct)).Select(l => l.Name).ToList();
        if (rt.LinkList().FirstOrDefault(l => l.Alias == alias) is { } left)
            throw new InvalidOperationException($"interface \"{left.Name}\" of {owner} is still there after its delete");
        return deleted;
    }, ct);

    /// <summary>The alias that marks a VPC interface as resource <paramref name="owner"/>'s.</summary>
    public static string OwnerAlias(string owner) => VpcDomain.OwnerAlias(owner);

    /// <summary>The link kinds a VPC interface is: kernel WireGuard, or the tun wireguard-go serves.</summary>
    private static bool IsWireGuardKind(string? kind) => kind is "wireguard" or "tun";

    private static ForeignObjectException NotOurs(Link link, string owner) =>
        new($"link {link.Name} exists and is not kraud's (no alias {OwnerAlias(owner)}); left untouched");

    private static void CheckKind(Link link, string owner)
    {
        if (!IsWireGuardKind(link.Kind))
            throw new ForeignObjectException($"link {link.Name} carries alias {OwnerAlias(owner)} but is a {link.Kind ?? "plain"} link, not wireguard or tun; left untouched");
    }

    private bool DeleteLink(RtNetlink rt, Link link, CancellationToken ct)
    {
        bool found = false;
        // By index, and only while it is still the link that was checked (a re-created one gets a new index).
        if (rt.LinkFind(link.Name) is { } now && now.Index == link.Index)
        {
            rt.LinkDel(link.Index);
            _log.LogInformation("deleted VPC {What} {Interface}", link.Kind == "vrf" ? "VRF" : "interface", link.Name);
            found = true;
        }
        if (link.Kind != "vrf") WaitForUapiSocketGone(link.Name, ct);
        return found;
    }

    private JsonObject Reconcile(VpcSpec spec, WgDeviceTemplate wanted, string stateDir, string owner, CancellationToken ct)
    {
        using var scope = _log.BeginScope(new Dictionary<string, object> { ["Kind"] = "Vpc", ["Id"] = spec.Interface });
        var key = VpcKeyStore.LoadOrCreate(stateDir, spec.Interface);
        var rt = Rt();
        var wg = Wg();
        string name = spec.Interface;

        // Refused before anything is made: an interface of the spec's name that is not this Vpc's.
        var present = rt.LinkFind(name);
        if (present is not null)
        {
            if (present.Alias != OwnerAlias(owner)) throw NotOurs(present, owner);
            CheckKind(present, owner);
        }
        var vrf = VpcVrf.Ensure(rt, owner, _log);
        uint table = vrf.VrfTable!.Value;
        var link = EnsureInterface(rt, wg, name, owner, present);
        bool linkChanged = false;
        if (link.MasterIndex != vrf.Index)
        {
            VpcDomain.Enslave(rt, link, vrf);
            linkChanged = true;
        }
        ct.ThrowIfCancellationRequested();
        int mtu = spec.Mtu ?? VpcSpec.DefaultMtu;
        if (link.Mtu != mtu)
        {
            rt.LinkSetMtu(link.Index, mtu);
            linkChanged = true;
        }

        var device = wg.Compare(name, key, wanted);
        if (!device.Matches)
        {
            var config = Diff(spec, key, wg.GetDevice(name));
            if (config is not null)
            {
                wg.ConfigureDevice(name, config);
                _log.LogInformation("configured {Interface}: {Peers} peer change(s)", name, config.Peers.Count);
            }
            device = wg.Compare(name, key, wanted);
            if (!device.Matches) _log.LogWarning("{Interface} still differs from its spec after it was configured", name);
        }
        if (!link.IsUp)
        {
            rt.LinkSetUp(link.Index);
            linkChanged = true;
        }
        ct.ThrowIfCancellationRequested();
        EnsureSysctls(rt, name, link, vrf);

        var addresses = ConvergeAddresses(rt, link.Index, spec.Addresses.Select(IpPrefix.Parse).ToList());
        ConvergeRoutes(rt, link.Index, table, spec.Routes.Select(r => IpPrefix.Parse(r.Destination).Network).ToList());

        if (linkChanged) link = rt.LinkGet(link.Index);
        return new JsonObject
        {
            ["interface"] = name,
            ["ifindex"] = link.Index,
            ["backend"] = wg.Kind == WgBackendKind.Kernel ? "kernel" : "userspace",
            ["publicKey"] = (device.PublicKey ?? key.PublicKey()).ToString(),
            ["listenPort"] = device.ListenPort,
            ["mtu"] = link.Mtu,
            ["up"] = link.IsUp,
            ["addresses"] = new JsonArray(addresses.Select(a => (JsonNode?)JsonValue.Create(a.ToString())).ToArray()),
            ["peerCount"] = device.PeerCount,
            ["vrf"] = new JsonObject { ["name"] = vrf.Name, ["table"] = vrf.VrfTable },
        };
    }

    /// <summary>
    /// IPv6 forwarding (host-wide and on the interface and its VRF): read over rtnetlink, written only when off. The two
    /// links' values come with their link messages (read anyway); "all" costs one RTM_GETNETCONF.
    /// </summary>
    private void EnsureSysctls(RtNetlink rt, string name, Link link, Link vrf)
    {
        // Reading the sysctl files costs a thread in the namespace each time; netconf answers on the open socket.
        bool On(Link l) => (l.Ipv6Forwarding ?? rt.Ipv6Forwarding(l.Index)) == 1;
        if (rt.Ipv6Forwarding(RtNetlink.NetconfAll) == 1 && On(link) && On(vrf)) return;
        foreach (string written in NetSysctl.Ensure(ns, [.. VpcDomain.TenantIpv6(name), .. VpcDomain.TenantIpv6(vrf.Name)]))
        {
            // The one host-wide setting the agent makes (no per-device IPv6 forwarding before Linux 6.17): said loudly,
            // because with it an uplink that takes its IPv6 route from router advertisements needs accept_ra=2.
            if (written == "ipv6/conf/all/forwarding")
                _log.LogWarning("set net.ipv6.conf.all.forwarding = 1 (host-wide; tenants' IPv6 is forwarded only in their VRFs): an uplink configured by router advertisements needs net.ipv6.conf.<uplink>.accept_ra = 2");
            else
                _log.LogInformation("set net.{Sysctl} = 1", written.Replace('/', '.'));
        }
    }

    /// <summary>
    /// The interface, made and marked when absent. An existing one must carry the owner's alias and be of the kind the
    /// backend makes; one that does not is someone else's (or another Vpc's) and is refused before anything changes.
    /// </summary>
    private Link EnsureInterface(RtNetlink rt, IWireGuardBackend wg, string name, string owner, Link? present)
    {
        var link = present;
        string expectedKind = wg.Kind == WgBackendKind.Kernel ? "wireguard" : "tun";
        if (link is not null)
        {
            if (link.Alias != OwnerAlias(owner)) throw NotOurs(link, owner);
            CheckKind(link, owner);
        }
        if (link is not null && wg.Kind == WgBackendKind.Userspace && link.Kind == "tun" && !File.Exists(UserspaceWireGuard.SocketPath(name)))
        {
            // Our tun left behind by a wireguard-go that died: nothing can configure it, start over.
            _log.LogWarning("{Interface} exists without its wireguard-go socket; recreating it", name);
            rt.LinkDel(link.Index);
            link = null;
        }
        if (link is null)
        {
            wg.CreateInterface(name);
            _log.LogInformation("created {Interface} ({Backend})", name, wg.Kind);
            link = rt.LinkGet(name);
            try
            {
                // At once, before anything else: an interface without the mark would be refused on the next attempt.
                rt.LinkSetAlias(link.Index, OwnerAlias(owner));
            }
            catch
            {
                rt.LinkDel(link.Index);
                throw;
            }
            return rt.LinkGet(name);
        }
        if (link.Kind != expectedKind)
            throw new InvalidOperationException($"interface \"{name}\" is a {link.Kind} link, not {expectedKind} as the {wg.Kind} backend makes: delete the Vpc and apply it again");
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
            bool presharedKeySet = have.PresharedKey is { IsZero: false }; // the spec has none: one set behind our back goes
            if (!endpointChanged && !keepaliveChanged && !allowedChanged && !presharedKeySet) continue;
            changes.Add(new WgPeerConfig(pk)
            {
                UpdateOnly = true,
                PresharedKey = presharedKeySet ? default(WgKey) : null, // all zeros: none
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

    /// <summary>Returns the addresses the interface has now (its link-local ones left out).</summary>
    private static List<IpPrefix> ConvergeAddresses(RtNetlink rt, int index, List<IpPrefix> wanted)
    {
        var have = rt.AddrList(index).Where(a => a.Scope == 0).ToList(); // leave link-local alone
        bool changed = false;
        foreach (var a in have)
            if (!wanted.Any(w => w.Address.Equals(a.Prefix.Address) && w.PrefixLength == a.Prefix.PrefixLength))
            {
                rt.AddrDel(index, a.Prefix);
                changed = true;
            }
        foreach (var w in wanted)
            if (!have.Any(a => w.Address.Equals(a.Prefix.Address) && w.PrefixLength == a.Prefix.PrefixLength))
            {
                rt.AddrReplace(index, w);
                changed = true;
            }
        return (changed ? rt.AddrList(index).Where(a => a.Scope == 0).ToList() : have).Select(a => a.Prefix).ToList();
    }

    /// <summary>
    /// Routes through the interface, in the VRF's <paramref name="table"/>, carry protocol <see cref="RouteProtocols.Kraud"/>:
    /// only those are the agent's to change or remove; others on the interface (an operator's) stay. A spec destination
    /// that already has a route in the table that is not the agent's is refused before any route changes, rather than
    /// replaced. The agent's routes on the interface in the main table (an agent before VRFs put them there) go.
    /// </summary>
    private static void ConvergeRoutes(RtNetlink rt, int index, uint table, List<IpPrefix> wanted)
    {
        // One dump, filtered by the kernel to the interface's routes in every table: an unchanged Vpc reads no other
        // link's routes, however many Vpcs the host has.
        var via = rt.RoutesVia(index);
        foreach (var stale in via.Where(r => r.Table == RouteTables.Main && r.Protocol == RouteProtocols.Kraud))
            rt.RouteDel(stale);
        var have = via.Where(r => r.Table == table && r.Protocol == RouteProtocols.Kraud).ToList();
        if (wanted.All(w => have.Any(r => r.Destination == w)) && have.All(r => wanted.Contains(r.Destination))) return;
        // Something to add or remove: the whole table, for routes to the same destinations through other links.
        var all = rt.RouteList(10, table).Concat(rt.RouteList(2, table)).ToList();
        // The same route to the kernel (what a replace would overwrite): destination and metric, on whatever device.
        static uint Metric(Route r) => r.Priority ?? 0;
        static uint OurMetric(IpPrefix w) => w.IsIPv6 ? 1024u : 0u; // the kernel's default for a route added without one
        foreach (var w in wanted)
            if (!have.Any(r => r.Destination == w)
                && all.FirstOrDefault(r => r.Destination == w && r.Protocol != RouteProtocols.Kraud && Metric(r) == OurMetric(w)) is { } theirs)
                throw new ForeignObjectException($"route {w} exists and is not kraud's (protocol {theirs.Protocol}, not {RouteProtocols.Kraud}); left untouched");
        foreach (var r in have)
            if (!wanted.Contains(r.Destination)) rt.RouteDel(r);
        foreach (var w in wanted)
            if (!have.Any(r => r.Destination == w)) rt.RouteAdd(new Route(w) { OutputIndex = index, Table = table, Protocol = RouteProtocols.Kraud });
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
