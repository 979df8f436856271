//! Matrix products on the CPU through the `gemm` crate (the kernels burn's CPU backend uses:
//! AVX2/FMA or AVX-512 chosen at run time), behind a safe interface: strided views whose every
//! element is checked to lie inside its slice before the one unsafe call.

#![allow(unsafe_code)]

/// A read-only matrix inside `data`: element (i, j) at `i * row_stride + j * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A `rows` × `cols` row-major matrix at the start of `data`.
    #[must_use]
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The same matrix with its rows `row_stride` apart (a column range of a wider matrix).
    #[must_use]
    pub const fn with_row_stride(self, row_stride: usize) -> Self {
        Self { row_stride, ..self }
    }

    /// The transpose (no copy: the strides swap).
    #[must_use]
    pub const fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Rows `start..start + len` of the matrix.
    ///
    /// # Panics
    /// When they are not all rows of it.
    #[must_use]
    pub fn row_range(self, start: usize, len: usize) -> Self {
        assert!(start + len <= self.rows, "rows {start}..{} of {}", start + len, self.rows);
        let offset = if len == 0 { 0 } else { start * self.row_stride };
        Self { data: &self.data[offset..], rows: len, ..self }
    }

    /// Its number of columns.
    #[must_use]
    pub const fn cols(&self) -> usize {
        self.cols
    }

    fn check(&self, what: &str) {
        assert!(
            fits(self.data.len(), self.rows, self.cols, self.row_stride, self.col_stride),
            "{what} out of bounds"
        );
    }
}

/// A writable matrix inside `data`, laid out as [`Mat`].
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> MatMut<'a> {
    /// A `rows` × `cols` matrix at the start of `data` whose rows are `row_stride` apart.
    #[must_use]
    pub fn rows(data: &'a mut [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        Self { data, rows, cols, row_stride }
    }
}

/// Whether every element of a rows × cols view with these strides lies in `len` elements.
const fn fits(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * row_stride + (cols - 1) * col_stride < len
}

/// `dst = scale · lhs × rhs`, plus what `dst` held when `accumulate`. Single-threaded: for
/// callers that parallelise over independent products.
///
/// # Panics
/// Shapes that do not chain, or a view that leaves its slice.
pub fn matmul(dst: MatMut<'_>, lhs: Mat<'_>, rhs: Mat<'_>, scale: f32, accumulate: bool) {
    product(dst, lhs, rhs, scale, accumulate, gemm::Parallelism::None);
}

/// [`matmul`] on every core (rayon's pool) when the product is large enough to pay for it.
///
/// # Panics
/// As [`matmul`].
pub fn matmul_parallel(dst: MatMut<'_>, lhs: Mat<'_>, rhs: Mat<'_>, scale: f32, accumulate: bool) {
    // Below about a million multiply-adds, splitting costs more than it saves.
    let parallelism = if dst.rows * dst.cols * lhs.cols >= 1 << 20 {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    product(dst, lhs, rhs, scale, accumulate, parallelism);
}

fn product(
    dst: MatMut<'_>,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
    scale: f32,
    accumulate: bool,
    parallelism: gemm::Parallelism,
) {
    assert!(
        lhs.rows == dst.rows && rhs.cols == dst.cols && lhs.cols == rhs.rows,
        "matmul: shapes do not chain"
    );
    lhs.check("lhs");
    rhs.check("rhs");
    assert!(fits(dst.data.len(), dst.rows, dst.cols, dst.row_stride, 1), "dst out of bounds");
    let stride = |s: usize| isize::try_from(s).unwrap_or(isize::MAX);
    // SAFETY: every element gemm reads or writes is inside its slice (checked above), `dst`
    // is borrowed mutably and so aliases neither input, and gemm reads `dst` only when told to.
    unsafe {
        gemm::gemm(
            dst.rows,
            dst.cols,
            lhs.cols,
            dst.data.as_mut_ptr(),
            1,
            stride(dst.row_stride),
            accumulate,
            lhs.data.as_ptr(),
            stride(lhs.col_stride),
            stride(lhs.row_stride),
            rhs.data.as_ptr(),
            stride(rhs.col_stride),
            stride(rhs.row_stride),
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_with_transposed_and_strided_views_match_the_definition() {
        let a: Vec<f32> = (0..6).map(|x| x as f32).collect(); // 2×3
        let b: Vec<f32> = (0..12).map(|x| (x as f32) * 0.5 - 2.0).collect(); // 4×3, used transposed
        let mut out = vec![1.0_f32; 2 * 5]; // 2×4 in rows of 5
        matmul(
            MatMut::rows(&mut out, 2, 4, 5),
            Mat::row_major(&a, 2, 3),
            Mat::row_major(&b, 4, 3).t(),
            2.0,
            true,
        );
        for i in 0..2 {
            for j in 0..4 {
                let exact: f32 = (0..3).map(|t| a[i * 3 + t] * b[j * 3 + t]).sum::<f32>() * 2.0 + 1.0;
                assert!((out[i * 5 + j] - exact).abs() < 1e-5, "({i}, {j}): {} vs {exact}", out[i * 5 + j]);
            }
            assert_eq!(out[i * 5 + 4], 1.0, "the padding column is left alone");
        }
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn a_view_past_its_slice_is_refused() {
        let a = [0.0_f32; 5];
        let mut out = [0.0_f32; 4];
        matmul(
            MatMut::rows(&mut out, 2, 2, 2),
            Mat::row_major(&a, 2, 3),
            Mat::row_major(&a, 3, 2),
            1.0,
            false,
        );
    }
}
