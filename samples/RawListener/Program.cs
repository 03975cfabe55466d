var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/", () => "Shockwave echo sample");
app.Run();


internal partial class Program;
