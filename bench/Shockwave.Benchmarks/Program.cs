using BenchmarkDotNet.Running;

// Micro-benchmarks for the protocol core. Run all: dotnet run -c Release --project bench/Shockwave.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
