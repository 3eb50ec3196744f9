"""Training under `tf.distribute`: a strategy by name, and the per-replica pieces the models'
objectives use.

Build and compile a model under `strategy.scope()`, then `fit` as on one device:

    >>> strategy = kmvae.distribute.get_strategy("mirrored")
    >>> with strategy.scope():
    ...     model = kmvae.MVAE(modalities, latent_dim=16)
    ...     model.compile(keras.optimizers.Adam(1e-3))
    >>> model.fit(train, epochs=5)          # global batches, split among the replicas

Each replica computes its share of the global batch's objective (`batch_mean`), and Keras sums
the replicas' gradients, so a step is the one-device step on the global batch. Training noise
differs between replicas (`ReplicaSeedGenerator`). XLA is off under a strategy
(`kmvae.models.MultimodalVAE.compile`).
"""

import keras
import tensorflow as tf

STRATEGIES = ("mirrored", "multi_worker")


def get_strategy(name=None, devices=None):
    """The `tf.distribute` strategy called `name`.

    Args:
        name: None for the default strategy (one device, no replicas); `"mirrored"` for
            `tf.distribute.MirroredStrategy`, one replica per local GPU (on a machine
            without GPUs: one per logical CPU device, so a single replica unless the CPU was
            split with `tf.config.set_logical_device_configuration` before TensorFlow
            initialised); `"multi_worker"` for `tf.distribute.MultiWorkerMirroredStrategy`,
            whose cluster and task come from the `TF_CONFIG` environment variable (create it
            at the start of the program, before any other TensorFlow call).
        devices: for `"mirrored"`, the devices to mirror over (e.g. `["/gpu:0", "/gpu:1"]`);
            default as above.

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: for a name other than None, `"mirrored"` and `"multi_worker"`, or
            `devices` given for another strategy.
    """
    if name is not None and name not in STRATEGIES:
        raise ValueError(f"Unknown distribution strategy {name!r}; expected None (one device) "
                         f"or one of {STRATEGIES}.")
    if devices is not None and name != "mirrored":
        raise ValueError(f"devices are an option of the 'mirrored' strategy only; received "
                         f"devices={devices!r} with strategy {name!r}.")
    if name is None:
        return tf.distribute.get_strategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices is None and not tf.config.list_logical_devices("GPU"):
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def is_chief(strategy):
    """Whether this process writes a run's files: always on one machine; under
    `MultiWorkerMirroredStrategy`, the task `chief`, or `worker` 0 when the cluster has no
    chief (TF_CONFIG's convention)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in (
        resolver.cluster_spec().as_dict())


def task_name(strategy):
    """`"<task type>-<task id>"` of this process in a multi-worker cluster (e.g. `worker-1`)."""
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type}-{resolver.task_id}"


def is_multi_worker(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` over several workers (the test
    Keras uses before reducing a step's outputs across workers)."""
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def replica_context():
    """The replica context of a step run by a strategy with several replicas in sync, else
    None (one device, or cross-replica code such as `fit`'s callbacks)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return context


def num_replicas():
    """The number of replicas in sync running the current step (1 outside a replica
    context)."""
    context = replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def global_sum(value):
    """`value` summed over the replicas in sync (an all-reduce), or `value` itself outside a
    replica context. No gradient flows through the sum: it serves counts and normalisers."""
    context = replica_context()
    value = tf.stop_gradient(value)
    if context is None:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def batch_mean(values, weights=None):
    """The mean of `values` over the global batch, as this replica's share.

    `sum_i w_i v_i` over the replica's entries divided by `sum_i w_i` over every replica's
    (`global_sum`): the replicas' shares, and their gradients, add up to the weighted mean over
    the global batch, also when the replicas hold different numbers of examples or weights
    (the last batch of an epoch, per-example masks). On one device it is the weighted mean.

    Args:
        values: float tensor, any shape (every entry counts).
        weights: None (every entry weight 1), or a tensor of `values`' shape, >= 0; entries of
            weight 0 are left out even when their value is not finite.

    Returns:
        A scalar of `values`' dtype; 0 when the global weights sum to 0.
    """
    values = tf.convert_to_tensor(values)
    if weights is None:
        total = tf.reduce_sum(values)
        count = tf.cast(tf.size(values), values.dtype)
    else:
        weights = tf.cast(weights, values.dtype)
        total = tf.reduce_sum(tf.where(weights > 0, weights * values, tf.zeros_like(values)))
        count = tf.reduce_sum(weights)
    return tf.math.divide_no_nan(total, global_sum(count))


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A `keras.random.SeedGenerator` whose draws differ between replicas.

    Under `MirroredStrategy` a seed generator's state is a mirrored variable: every replica
    holds the same state, so `keras.random.normal(shape, seed=generator)` would give identical
    noise on every replica (identical examples would get identical reparameterisation noise,
    and every replica the same random subsets). `next` folds the replica's id within the sync
    group (unique across workers) into the seed with `tf.random.experimental.stateless_fold_in`.
    On one device, and in cross-replica code, the seeds are those of `SeedGenerator`.

    Args:
        seed: as `keras.random.SeedGenerator`.
    """

    def next(self, ordered=True):
        seed = super().next(ordered)
        context = replica_context()
        if context is None:
            return seed
        replica = tf.cast(context.replica_id_in_sync_group, tf.int32)
        return tf.cast(tf.random.experimental.stateless_fold_in(seed, replica), seed.dtype)
