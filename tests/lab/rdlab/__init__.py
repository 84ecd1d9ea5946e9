"""The simulated Windows lab: WinRM endpoints in front of a model of Windows hosts."""
