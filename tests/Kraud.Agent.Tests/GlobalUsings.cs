// The agent's namespaces by role (docs/layout.md); every test may meet any of them.
global using Kraud.Agent.ControlPlane;
global using Kraud.Agent.Host;
global using Kraud.Agent.Kinds;
global using Kraud.Agent.State;
global using Kraud.Testing;
