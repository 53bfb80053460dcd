"""Post-implementation meetings: series, agendas built from the evidence, live mode, minutes, actions."""
