"""Example simulations for pypet_sm."""
