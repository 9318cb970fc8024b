"""Registries from config names to Keras objects, and spec -> keras.Model. Imports Keras."""
