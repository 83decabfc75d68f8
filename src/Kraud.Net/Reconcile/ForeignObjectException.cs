namespace Kraud.Net.Reconcile;

/// <summary>
/// An object the agent would change or remove does not carry its mark (a link's alias, a route's protocol) or is
/// not of the kind the agent makes: it is someone else's, so it is left as it is. Permanent: retrying cannot make
/// it the agent's; the message names the object.
/// </summary>
public sealed class ForeignObjectException(string message) : Exception(message);
