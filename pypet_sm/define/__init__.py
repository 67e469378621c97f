"""Defining a trajectory: config.yaml and build hooks, parameters and their exploration, value
types, natural naming, custom classes, and the checks of user input before anything runs."""
