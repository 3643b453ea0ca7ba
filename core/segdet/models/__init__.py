"""Model assemblies, task modules and shared layers."""
