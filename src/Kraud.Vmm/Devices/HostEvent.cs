namespace Kraud.Vmm.Devices;

/// <summary>
/// A host file descriptor a device waits on besides its queues (a tap's incoming frames): the monitor's event
/// loop polls <see cref="Fd"/> while <see cref="Wanted"/> says so and calls <see cref="OnReady"/> when it is
/// readable. The device says what to wait for and what to do, the monitor decides the thread.
/// </summary>
public readonly record struct HostEvent(int Fd, Func<bool> Wanted, Action OnReady);
