"""Exercise 07: weight rewinding, re-initialisation, comparing retraining strategies."""

_COMPARE = "def compare_retraining(trained, snapshot, train, val, sparsity, epochs, optimizer_factory, rng):\n"

WRONG = {
    "task1_check": {
        "no_mask": (
            "def rewind(model, snapshot_state):\n"
            "    for i, layer in enumerate(model.layers):\n"
            "        for key in layer.params:\n"
            "            layer.params[key] = snapshot_state[f'{i}.{key}'].copy()\n"
        ),
        "load_state_dict": "def rewind(model, snapshot_state):\n    model.load_state_dict(snapshot_state)\n",
        "weights_only": (
            "def rewind(model, snapshot_state):\n"
            "    for i, layer in enumerate(model.layers):\n"
            "        if 'W' in layer.params:\n"
            "            layer.params['W'] = snapshot_state[f'{i}.W'] * layer.masks.get('W', 1)\n"
        ),
        "aliases_snapshot": (
            "def rewind(model, snapshot_state):\n"
            "    for i, layer in enumerate(model.layers):\n"
            "        for key in layer.params:\n"
            "            value = snapshot_state[f'{i}.{key}']\n"
            "            if key in layer.masks:\n"
            "                value *= layer.masks[key]\n"
            "            layer.params[key] = value\n"
        ),
        "clears_masks": (
            "def rewind(model, snapshot_state):\n"
            "    for i, layer in enumerate(model.layers):\n"
            "        for key in layer.params:\n"
            "            value = snapshot_state[f'{i}.{key}'].copy()\n"
            "            if key in layer.masks:\n"
            "                value = value * layer.masks[key]\n"
            "            layer.params[key] = value\n"
            "        layer.masks = {}\n"
        ),
        "masks_from_snapshot": (
            "def rewind(model, snapshot_state):\n"
            "    for i, layer in enumerate(model.layers):\n"
            "        for key in layer.params:\n"
            "            value = snapshot_state[f'{i}.{key}'].copy()\n"
            "            mask = snapshot_state.get(f'{i}.{key}_mask')\n"
            "            if mask is not None:\n"
            "                value = value * mask\n"
            "            layer.params[key] = value\n"
        ),
    },
    "task2_check": {
        "ignores_rng": (
            "def reinit(model, rng):\n"
            "    gen = np.random.default_rng()\n"
            "    for layer in model.layers:\n"
            "        if hasattr(layer, 'reset_parameters'):\n"
            "            layer.reset_parameters(gen)\n"
        ),
        "same_seed_every_layer": (
            "def reinit(model, rng):\n"
            "    for layer in model.layers:\n"
            "        if hasattr(layer, 'reset_parameters'):\n"
            "            layer.reset_parameters(np.random.default_rng(rng))\n"
        ),
        "small_normal_no_mask": (
            "def reinit(model, rng):\n"
            "    gen = np.random.default_rng(rng)\n"
            "    for layer in model.layers:\n"
            "        if 'W' in layer.params:\n"
            "            layer.params['W'] = gen.standard_normal(layer.params['W'].shape) * 0.01\n"
        ),
        "fan_out": (
            "def reinit(model, rng):\n"
            "    gen = np.random.default_rng(rng)\n"
            "    for layer in model.layers:\n"
            "        if 'W' in layer.params:\n"
            "            fan_in, fan_out = layer.params['W'].shape\n"
            "            W = gen.normal(0, np.sqrt(2 / fan_out), (fan_in, fan_out))\n"
            "            layer.params['W'] = (W * layer.masks.get('W', 1)).astype(layer.params['W'].dtype)\n"
            "            layer.params['b'] = np.zeros_like(layer.params['b'])\n"
        ),
        "random_biases": (
            "def reinit(model, rng):\n"
            "    gen = np.random.default_rng(rng)\n"
            "    for layer in model.layers:\n"
            "        if hasattr(layer, 'reset_parameters'):\n"
            "            layer.reset_parameters(gen)\n"
            "            layer.params['b'] = gen.normal(0, 0.1, layer.params['b'].shape).astype(layer.params['b'].dtype)\n"  # noqa: E501
        ),
        "float64_weights": (
            "def reinit(model, rng):\n"
            "    gen = np.random.default_rng(rng)\n"
            "    for layer in model.layers:\n"
            "        if 'W' in layer.params:\n"
            "            fan_in, fan_out = layer.params['W'].shape\n"
            "            W = gen.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)\n"
            "            layer.params['W'] = W * layer.masks.get('W', 1)\n"
            "            layer.params['b'] = np.zeros_like(layer.params['b'])\n"
        ),
        "uniform_he": (
            "def reinit(model, rng):\n"
            "    gen = np.random.default_rng(rng)\n"
            "    for layer in model.layers:\n"
            "        if 'W' in layer.params:\n"
            "            fan_in, fan_out = layer.params['W'].shape\n"
            "            limit = np.sqrt(6 / fan_in)\n"
            "            W = gen.uniform(-limit, limit, (fan_in, fan_out))\n"
            "            layer.params['W'] = (W * layer.masks.get('W', 1)).astype(layer.params['W'].dtype)\n"
            "            layer.params['b'] = np.zeros_like(layer.params['b'])\n"
        ),
    },
    "task3_check": {
        "prunes_the_original": (
            _COMPARE + "    results = {}\n"
            "    for strategy in ('fine_tune', 'weight_rewind', 'reinit'):\n"
            "        minnet.prune.prune(trained, sparsity=sparsity)\n"
            "        pruned = trained.copy()\n"
            "        minnet.prune.retrain(pruned, *train, strategy=strategy, epochs=epochs,\n"
            "                             optimizer_factory=optimizer_factory, snapshot=snapshot, rng=rng)\n"
            "        results[strategy] = minnet.evaluate(pruned, *val).accuracy\n"
            "    return results\n"
        ),
        "ignores_rng": (
            _COMPARE + "    results = {}\n"
            "    for strategy in ('fine_tune', 'weight_rewind', 'reinit'):\n"
            "        pruned = trained.copy()\n"
            "        minnet.prune.prune(pruned, sparsity=sparsity)\n"
            "        minnet.prune.retrain(pruned, *train, strategy=strategy, epochs=epochs,\n"
            "                             optimizer_factory=optimizer_factory, snapshot=snapshot, rng=12345)\n"
            "        results[strategy] = minnet.evaluate(pruned, *val).accuracy\n"
            "    return results\n"
        ),
        "evaluates_on_train": (
            _COMPARE + "    results = {}\n"
            "    for strategy in ('fine_tune', 'weight_rewind', 'reinit'):\n"
            "        pruned = trained.copy()\n"
            "        minnet.prune.prune(pruned, sparsity=sparsity)\n"
            "        minnet.prune.retrain(pruned, *train, strategy=strategy, epochs=epochs,\n"
            "                             optimizer_factory=optimizer_factory, snapshot=snapshot, rng=rng)\n"
            "        results[strategy] = minnet.evaluate(pruned, *train).accuracy\n"
            "    return results\n"
        ),
        "shared_optimizer": (
            _COMPARE + "    results = {}\n"
            "    opt = optimizer_factory()\n"
            "    for strategy in ('fine_tune', 'weight_rewind', 'reinit'):\n"
            "        pruned = trained.copy()\n"
            "        minnet.prune.prune(pruned, sparsity=sparsity)\n"
            "        minnet.prune.retrain(pruned, *train, strategy=strategy, epochs=epochs,\n"
            "                             optimizer_factory=lambda: opt, snapshot=snapshot, rng=rng)\n"
            "        results[strategy] = minnet.evaluate(pruned, *val).accuracy\n"
            "    return results\n"
        ),
        "half_the_epochs": (
            _COMPARE + "    results = {}\n"
            "    for strategy in ('fine_tune', 'weight_rewind', 'reinit'):\n"
            "        pruned = trained.copy()\n"
            "        minnet.prune.prune(pruned, sparsity=sparsity)\n"
            "        minnet.prune.retrain(pruned, *train, strategy=strategy, epochs=max(1, epochs // 2),\n"
            "                             optimizer_factory=optimizer_factory, snapshot=snapshot, rng=rng)\n"
            "        results[strategy] = minnet.evaluate(pruned, *val).accuracy\n"
            "    return results\n"
        ),
    },
}
