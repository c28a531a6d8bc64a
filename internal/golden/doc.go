// Package golden loads the reference implementation's conformance vectors
// for tests: [Dir] finds the directory (DREDGE_GOLDEN_DIR or
// ../shared/golden), [Load] decodes a file, and [Close] and [CheckSlice]
// compare with the tolerances [ForwardRel], [ForwardAbs] and [TrainingRel].
package golden
