using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Shockwave.Samples.Chat;

/// <summary>The body of <c>POST /signin</c>.</summary>
public sealed record SignInRequest(string? Name);

/// <summary>
/// Sign-in with a display name and nothing else: the point is the ASP.NET Core flow (a cookie, claims, an authorized
/// hub), not an identity system. The name is the user id, so two people who pick the same name are one user.
/// </summary>
public static class SignInEndpoints
{
    /// <summary>Maps <c>POST /signin</c>, <c>POST /signout</c> and <c>GET /me</c>.</summary>
    public static IEndpointRouteBuilder MapChatSignIn(this IEndpointRouteBuilder endpoints)
    {
        // JSON bodies only: a cross-site HTML form cannot post application/json, so it cannot sign a visitor in.
        endpoints.MapPost("/signin", SignInAsync);
        endpoints.MapPost("/signout", async (HttpContext context) =>
        {
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return TypedResults.NoContent();
        });
        // 200 either way (name null when signed out): a page asking "am I signed in?" is not an error.
        endpoints.MapGet("/me", (ClaimsPrincipal user) => TypedResults.Ok(new { name = user.Identity?.IsAuthenticated == true ? user.Identity.Name : null }));
        return endpoints;
    }

    private static async Task<IResult> SignInAsync(SignInRequest request, HttpContext context)
    {
        string name = request.Name ?? "";
        if (ChatProtocol.ValidateName(name) is { } problem)
        {
            return TypedResults.BadRequest(new { error = problem });
        }

        // NameIdentifier is the claim the library's default user id provider reads (direct messages address it).
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, name), new Claim(ClaimTypes.Name, name)],
            CookieAuthenticationDefaults.AuthenticationScheme);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
        return TypedResults.Ok(new { name });
    }
}
