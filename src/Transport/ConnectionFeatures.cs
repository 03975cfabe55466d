using System.Collections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Shockwave.Transport;

/// <summary>
/// The feature collection of a <see cref="SocketConnection"/>: the features the transport provides are the connection
/// itself, answered without storage; anything Kestrel or the application sets goes into a dictionary made on the first
/// set. A <see cref="FeatureCollection"/> filled with the seven transport features would cost every connection, idle
/// ones included, a dictionary of its own.
/// </summary>
internal sealed class ConnectionFeatures(SocketConnection connection) : IFeatureCollection
{
    private static readonly Type[] s_transportFeatures =
    [
        typeof(IConnectionIdFeature),
        typeof(IConnectionTransportFeature),
        typeof(IConnectionItemsFeature),
        typeof(IMemoryPoolFeature),
        typeof(IConnectionLifetimeFeature),
        typeof(IConnectionEndPointFeature),
        typeof(IConnectionSocketFeature),
    ];

    // A null value records a removed feature, so a removed transport feature stays removed.
    private Dictionary<Type, object?>? _set;

    public bool IsReadOnly => false;

    public int Revision { get; private set; }

    public object? this[Type key]
    {
        get
        {
            if (_set is not null && _set.TryGetValue(key, out var value))
            {
                return value;
            }

            return Array.IndexOf(s_transportFeatures, key) >= 0 ? connection : null;
        }
        set
        {
            _set ??= [];
            _set[key] = value;

            Revision++;
        }
    }

    public TFeature? Get<TFeature>() => (TFeature?)this[typeof(TFeature)];

    public void Set<TFeature>(TFeature? instance) => this[typeof(TFeature)] = instance;

    public IEnumerator<KeyValuePair<Type, object>> GetEnumerator()
    {
        foreach (var type in s_transportFeatures)
        {
            if (_set is null || !_set.ContainsKey(type))
            {
                yield return new KeyValuePair<Type, object>(type, connection);
            }
        }

        if (_set is not null)
        {
            foreach (var (type, feature) in _set)
            {
                if (feature is not null)
                {
                    yield return new KeyValuePair<Type, object>(type, feature);
                }
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
