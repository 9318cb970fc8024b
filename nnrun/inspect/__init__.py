"""Looking inside a network while it trains: per-epoch internals (gradients, weights,
activations), snapshots of the weights for the decision-boundary pictures, and verdicts
on them (vanishing or exploding gradients, dying ReLU).

`recorder` runs inside training (TensorFlow); `internals` (the rows and the file),
`verdicts` and `pictures` only read what it recorded and never import TensorFlow.
"""
