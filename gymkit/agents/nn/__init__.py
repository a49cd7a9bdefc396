"""Pieces the neural agents (DQN, REINFORCE) share. Importing this package imports no TensorFlow."""
