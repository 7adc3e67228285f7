"""After the meeting: reports, outcomes (totals, stories, goal thermometers) and ideas."""
