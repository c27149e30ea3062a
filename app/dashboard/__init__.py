"""The researcher dashboard: jobs, progress, statistics charts, disagreements and exports."""
