//! The files a stack is read from, laid end to end in one offset space: a
//! span in the merged document names the file and the offset in it.

use std::path::{Path, PathBuf};

/// One file of a stack.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// The files of a stack, the stack file first, then each file it extends in
/// turn; file `i` owns the offsets `base(i) .. base(i) + len(i)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources {
    pub(super) files: Vec<(usize, SourceFile)>,
}

impl Sources {
    pub fn single(path: &Path, text: String) -> Sources {
        let mut s = Sources::default();
        s.push(path.to_path_buf(), text);
        s
    }

    pub(super) fn push(&mut self, path: PathBuf, text: String) -> usize {
        // One byte between files, so a span at a file's end is never the next file's start.
        let base = self
            .files
            .last()
            .map_or(0, |(base, f)| base + f.text.len() + 1);
        self.files.push((base, SourceFile { path, text }));
        base
    }

    /// The stack file and then the files it extends.
    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter().map(|(_, f)| f)
    }

    /// The file an offset of the merged document falls in, and the offset in that file.
    pub fn locate(&self, offset: usize) -> (&SourceFile, usize) {
        let (base, file) = self
            .files
            .iter()
            .rev()
            .find(|(base, _)| *base <= offset)
            .map(|(b, f)| (*b, f))
            .expect("a stack has at least its own file");
        (file, offset - base)
    }
}
