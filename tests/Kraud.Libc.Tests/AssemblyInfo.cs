// The tests drive Linux only: namespaces, netlink, Unix file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
