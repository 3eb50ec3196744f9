"""kmvae: multimodal variational autoencoders for Keras 3, TensorFlow and TensorFlow Probability."""
