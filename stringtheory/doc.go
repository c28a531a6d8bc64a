// Package stringtheory is DREDGE's science: string vibration modes and
// parameters, the unified field, the Quasimoto wave functions (1D, 4D, 6D,
// ensembles, interference basis), the SIREN and random Fourier feature
// baselines, the string-theory MLP, and their data sets.
//
// It imports only [github.com/dredge-cli/dredge/accel], gonum and the
// standard library: it knows no cache, monitor, transport or queue.
//
// # Strings
//
// [Vibration] gives vibrational modes sin(nπx), energy levels n/(2L), the
// spectrum, Kaluza-Klein compactification and the [Vibration.CoupledAmplitude];
// [StringParameters] and [UnifiedField] complete the set.
//
// # Models
//
// [New] builds any model type of [ModelTypes] from a [Config] with seeded
// initial parameters. Every [Model] stores its parameters in one flat vector
// named by [Tensor]s with PyTorch-compatible names ("waves.0.A",
// "network.0.weight" …), so parameters exported by the reference load
// unchanged through [Model.SetValues]. Forward passes run on an
// [accel.Device]: [Wave] on the fused wave kernels, [Interference] on the
// interference kernel, [Network] (MLP, SIREN, RFF) on dense layers.
//
// # Data
//
// [GlitchyChirp], [Grid4D] and [Grid6D] are the Quasimoto paper's data sets.
//
// # Training
//
// [Train] fits any model of [New] to a [Dataset] with full-batch Adam
// (PyTorch's semantics) and the mean squared error, on an [accel.Device]:
// the data set is uploaded once, every epoch runs on device buffers with
// exact gradients from the device's fused kernels, and only the loss comes
// back per epoch. [DatasetFor] gives each model type its default training
// set; [TrainConfig]'s zero value is 100 epochs at learning rate 1e-3.
//
// A network's batch works through blocks of rows when it is too large for
// one (see [BlockValues]); on the CPU device one that fits runs as two
// halves at once, one per core, their gradients summed weighted by their
// rows (SIREN 2×64 on 1,000 points: 0.27 ms an epoch, against 0.45 in one
// piece). Which of these applies depends on the model, the points and the
// device's kind only, so that results do not depend on the number of
// workers or cores; they differ from one whole batch's by rounding only.
//
// # Errors and limits
//
// Bad input yields a [*FieldError] naming the field and wrapping
// [ErrInvalidArgument]. Sizes that outside input may request are bounded by
// named limits such as [MaxPoints], [MaxWaves] and [MaxLayers].
package stringtheory
