namespace Microsoft.Extensions.DependencyInjection;

/// <summary>What <c>AddWibeSocket</c> returns: the place to chain what extends it (a backplane, say).</summary>
public interface IWibeSocketBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }
}

internal sealed class WibeSocketBuilder(IServiceCollection services) : IWibeSocketBuilder
{
    public IServiceCollection Services { get; } = services;
}
