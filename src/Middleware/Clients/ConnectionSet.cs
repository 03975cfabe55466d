using Shockwave.Runtime;

namespace Shockwave.Clients;

/// <summary>
/// The members of one group or one user: an array replaced whole on every change (copy on write), so a send reads a
/// snapshot without any lock while members come and go. Changes are serialized by the owner's membership lock.
/// </summary>
internal sealed class ConnectionSet
{
    private WibeSocketConnection[] _members = [];

    public WibeSocketConnection[] Members => Volatile.Read(ref _members);

    public bool IsEmpty => Members.Length == 0;

    /// <summary>Adds (caller holds the membership lock); false when already a member.</summary>
    public bool Add(WibeSocketConnection connection)
    {
        var members = _members;
        if (Array.IndexOf(members, connection) >= 0)
        {
            return false;
        }

        var grown = new WibeSocketConnection[members.Length + 1];
        members.CopyTo(grown, 0);
        grown[^1] = connection;
        Volatile.Write(ref _members, grown);
        return true;
    }

    /// <summary>Removes (caller holds the membership lock); false when not a member.</summary>
    public bool Remove(WibeSocketConnection connection)
    {
        var members = _members;
        int index = Array.IndexOf(members, connection);
        if (index < 0)
        {
            return false;
        }

        var shrunk = new WibeSocketConnection[members.Length - 1];
        Array.Copy(members, 0, shrunk, 0, index);
        Array.Copy(members, index + 1, shrunk, index, members.Length - index - 1);
        Volatile.Write(ref _members, shrunk);
        return true;
    }
}
