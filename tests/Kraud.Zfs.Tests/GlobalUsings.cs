global using Kraud.Testing;
