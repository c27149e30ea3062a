"""Who judges each comparison: humans, simulated annotators, both (calibration), and active
escalation of uncertain simulated judgments to humans."""
