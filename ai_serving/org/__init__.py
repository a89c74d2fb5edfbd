"""Org-wide commands: plan every stack (plan_all), check across teams (crossteam), add a team (new_team)."""
