using System.Collections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Shockwave.Transport;

/// <summary>
/// The feature collection of a <see cref="SocketConnection"/>: the features the transport provides are the connection
/// itself, answered without storage; what Kestrel or the application sets (Kestrel sets a handful on every connection)
/// goes into a small array searched in order. A <see cref="FeatureCollection"/> would cost every connection, idle ones
/// included, a dictionary and its entries: about 270 bytes against about 100 here.
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
    private KeyValuePair<Type, object?>[]? _set;
    private int _setCount;

    public bool IsReadOnly => false;

    public int Revision { get; private set; }

    public object? this[Type key]
    {
        get
        {
            var index = IndexOf(key);
            if (index >= 0)
            {
                return _set![index].Value;
            }

            return Array.IndexOf(s_transportFeatures, key) >= 0 ? connection : null;
        }
        set
        {
            var index = IndexOf(key);
            if (index < 0)
            {
                _set ??= new KeyValuePair<Type, object?>[4];
                if (_setCount == _set.Length)
                {
                    Array.Resize(ref _set, _set.Length * 2);
                }

                index = _setCount++;
            }

            _set![index] = new KeyValuePair<Type, object?>(key, value);

            Revision++;
        }
    }

    public TFeature? Get<TFeature>() => (TFeature?)this[typeof(TFeature)];

    public void Set<TFeature>(TFeature? instance) => this[typeof(TFeature)] = instance;

    public IEnumerator<KeyValuePair<Type, object>> GetEnumerator()
    {
        foreach (var type in s_transportFeatures)
        {
            if (IndexOf(type) < 0)
            {
                yield return new KeyValuePair<Type, object>(type, connection);
            }
        }

        for (var i = 0; i < _setCount; i++)
        {
            if (_set![i].Value is { } feature)
            {
                yield return new KeyValuePair<Type, object>(_set[i].Key, feature);
            }
        }
    }

    private int IndexOf(Type key)
    {
        for (var i = 0; i < _setCount; i++)
        {
            if (_set![i].Key == key)
            {
                return i;
            }
        }

        return -1;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
