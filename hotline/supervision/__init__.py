"""Supervisors stepping into call takers' calls (listen, whisper, barge), from the controller only."""
