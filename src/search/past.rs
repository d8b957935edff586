//! "Past changes": the project's history as answered questions. Each commit reachable from HEAD is a
//! question someone once had (its message) with its answer (the files it changed). A new question's
//! lexically similar commits — BM25 over their messages — vote for the files they changed, each vote
//! weighted by the commit's similarity and damped by how many files it touched (a 300-file refactor
//! says little about any one of them).
//!
//! Pure: built from commits the caller mined (`crate::history`), queried with terms
//! (`crate::terms`). The caller guarantees the leakage rule (only commits reachable from HEAD).

use super::bm25::Bm25;
use std::collections::HashMap;

/// One past commit as the channel sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PastCommit {
    /// The full hexadecimal id.
    pub id: String,
    /// The message's first line.
    pub subject: String,
    /// Subject and body: what is searched.
    pub message: String,
    /// Workspace keys of the files it changed.
    pub files: Vec<String>,
    /// How many files it changed (also when `files` is capped).
    pub files_touched: u32,
}

/// How votes are counted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Voting {
    /// Similar commits that vote.
    pub commits: usize,
    /// A commit's vote per file is its similarity / files_touched^damping (0: no damping; 0.5: a
    /// 100-file commit counts a tenth of a one-file fix per file; 1: split evenly).
    pub damping: f64,
    /// Commits that touched more files than this do not vote at all.
    pub max_files: u32,
}

/// Tuned on the dev set with history (`reverie eval --ranking --checkouts`). Document expansion (a
/// file searched as the words of the messages of the commits that changed it, added to the votes)
/// was measured there too and did not pay: on all 404 at base commits, at fusion weight 2, Acc@1
/// 48.3 → 47.5, Acc@5 77.2 → 77.5, for a second index over the history.
pub const VOTING: Voting = Voting { commits: 30, damping: 0.5, max_files: 100 };

/// A commit touching more files than this says nothing about which files belong together.
const COCHANGE_MAX_FILES: u32 = 100;

/// A file the similar past commits changed.
#[derive(Clone, Debug, PartialEq)]
pub struct FileVote {
    pub file: String,
    pub score: f64,
    /// The commits that voted (indexes in the order given to `PastChanges::new`), most similar first.
    pub commits: Vec<u32>,
}

/// A file the similar past commits changed, with the evidence to cite: what the question carries
/// into the ranking (`answer::Question::past`).
#[derive(Clone, Debug, PartialEq)]
pub struct PastFile {
    pub file: String,
    pub score: f64,
    /// How many of the similar commits changed it.
    pub commits: usize,
    /// The most similar of them: (short id, subject).
    pub examples: Vec<(String, String)>,
}

/// A file that changed together with another in past commits: co-change, for "what else must
/// change if I change X?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoChange {
    pub file: String,
    /// Commits that changed both files.
    pub together: u32,
}

/// Files a question carries (the fusion reads about as many of each channel's).
pub const QUESTION_FILES: usize = 100;

/// Words of a subject that say its commit fixes something.
const FIX_WORDS: [&str; 10] =
    ["fix", "fixed", "fixes", "bug", "crash", "error", "regression", "fail", "fails", "broken"];

/// Examples kept per `PastFile`.
const EXAMPLES: usize = 2;

/// The searchable history: BM25 over the messages, and per commit what a citation needs (short id,
/// subject) and the files it changed, interned. Messages are not kept (the index holds their terms).
/// What it keeps lies in a few long buffers (`Strings`, `Lists`), not one allocation per subject or
/// list: the index lives as long as the server, and small long-lived allocations mixed with the
/// reading's garbage kept its pages resident after the garbage was freed.
#[derive(Debug, Default)]
pub struct PastChanges {
    bm25: Bm25,
    /// Per commit: its short id, subject, files (ids into `paths`) and how many files it touched.
    ids: Vec<[u8; 7]>,
    subjects: Strings,
    files: Lists,
    files_touched: Vec<u32>,
    paths: Strings,
    /// Per file (by `paths` index): the commits that changed it (within `COCHANGE_MAX_FILES`),
    /// newest first.
    file_commits: Lists,
}

/// Strings laid end to end in one buffer.
#[derive(Debug, Default)]
struct Strings {
    text: String,
    /// Where each string ends in `text`.
    ends: Vec<u32>,
}

impl Strings {
    fn push(&mut self, string: &str) {
        self.text.push_str(string);
        self.ends.push(self.text.len() as u32);
    }

    fn get(&self, index: usize) -> &str {
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        &self.text[start..self.ends[index] as usize]
    }

    fn position(&self, string: &str) -> Option<usize> {
        (0..self.ends.len()).find(|&i| self.get(i) == string)
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4
    }

    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Lists of numbers laid end to end in one buffer.
#[derive(Debug, Default)]
struct Lists {
    items: Vec<u32>,
    /// Where each list ends in `items`.
    ends: Vec<u32>,
}

impl Lists {
    fn push(&mut self, list: impl IntoIterator<Item = u32>) {
        self.items.extend(list);
        self.ends.push(self.items.len() as u32);
    }

    fn get(&self, index: usize) -> &[u32] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        &self.items[start..self.ends[index] as usize]
    }

    fn heap_bytes(&self) -> usize {
        (self.items.capacity() + self.ends.capacity()) * 4
    }

    fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

impl PastChanges {
    /// From commits in any order (ties in similarity go to the earlier one: give them newest first).
    pub fn new(commits: impl IntoIterator<Item = PastCommit>) -> PastChanges {
        let mut past = PastChanges::default();
        let mut path_ids: HashMap<String, u32> = HashMap::new();
        // Each message as (term id, count) pairs, laid end to end; the terms' text once.
        let mut vocabulary: HashMap<String, u32> = HashMap::new();
        let mut terms: Vec<String> = Vec::new();
        let mut postings: Vec<(u32, u32)> = Vec::new();
        let mut document_ends: Vec<usize> = Vec::new();
        for commit in commits {
            let files = commit.files.iter().map(|f| match path_ids.get(f.as_str()) {
                Some(&id) => id,
                None => {
                    let id = path_ids.len() as u32;
                    path_ids.insert(f.clone(), id);
                    past.paths.push(f);
                    id
                }
            });
            past.files.push(files.collect::<Vec<u32>>());
            let mut id = [b'0'; 7];
            for (slot, byte) in id.iter_mut().zip(commit.id.bytes()) {
                *slot = byte;
            }
            past.ids.push(id);
            past.subjects.push(&commit.subject);
            past.files_touched.push(commit.files_touched);
            let start = postings.len();
            for token in crate::terms::tokenize(&commit.message) {
                let term = match vocabulary.get(&token) {
                    Some(&term) => term,
                    None => {
                        let term = terms.len() as u32;
                        vocabulary.insert(token.clone(), term);
                        terms.push(token);
                        term
                    }
                };
                match postings[start..].iter_mut().find(|(t, _)| *t == term) {
                    Some((_, count)) => *count += 1,
                    None => postings.push((term, 1)),
                }
            }
            document_ends.push(postings.len());
        }
        drop(vocabulary);
        let documents = (0..document_ends.len()).map(|d| {
            let start = if d == 0 { 0 } else { document_ends[d - 1] };
            postings[start..document_ends[d]].iter().map(|&(term, count)| (terms[term as usize].as_str(), count))
        });
        past.bm25 = Bm25::from_counts(documents);
        let mut file_commits: Vec<Vec<u32>> = vec![Vec::new(); past.paths.ends.len()];
        for (index, &touched) in past.files_touched.iter().enumerate() {
            if touched <= COCHANGE_MAX_FILES {
                past.files.get(index).iter().for_each(|&file| file_commits[file as usize].push(index as u32));
            }
        }
        file_commits.into_iter().for_each(|commits| past.file_commits.push(commits));
        past.subjects.shrink_to_fit();
        past.paths.shrink_to_fit();
        past.files.shrink_to_fit();
        past.file_commits.shrink_to_fit();
        past.ids.shrink_to_fit();
        past.files_touched.shrink_to_fit();
        past
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Bytes this index holds on the heap (an estimate from its sizes), for the memory budget.
    pub fn heap_bytes(&self) -> usize {
        self.bm25.heap_bytes()
            + self.ids.capacity() * 7
            + self.subjects.heap_bytes()
            + self.files.heap_bytes()
            + self.files_touched.capacity() * 4
            + self.paths.heap_bytes()
            + self.file_commits.heap_bytes()
    }

    /// (short id, subject) of commit `index`.
    pub fn cite(&self, index: u32) -> (String, String) {
        let index = index as usize;
        (String::from_utf8_lossy(&self.ids[index]).into_owned(), self.subjects.get(index).to_string())
    }

    /// The commits whose messages are most like `terms`, with their BM25 scores, best first.
    pub fn similar(&self, terms: &[String], limit: usize) -> Vec<(u32, f64)> {
        self.bm25.search(terms, limit)
    }

    /// Files changed by the commits most like `terms`, best first (see the module docs).
    pub fn votes(&self, terms: &[String], voting: &Voting) -> Vec<FileVote> {
        let similar: Vec<(u32, f64)> = self
            .similar(terms, voting.commits * 4)
            .into_iter()
            .filter(|(c, _)| {
                let touched = self.files_touched[*c as usize];
                touched > 0 && touched <= voting.max_files
            })
            .take(voting.commits)
            .collect();
        let Some(&(_, best)) = similar.first() else { return Vec::new() };
        let mut votes: HashMap<u32, (f64, Vec<u32>)> = HashMap::new();
        for (c, score) in similar {
            let vote = (score / best) / f64::from(self.files_touched[c as usize]).powf(voting.damping);
            for &file in self.files.get(c as usize) {
                let entry = votes.entry(file).or_default();
                entry.0 += vote;
                entry.1.push(c);
            }
        }
        let mut votes: Vec<FileVote> = votes
            .into_iter()
            .map(|(file, (score, commits))| FileVote {
                file: self.paths.get(file as usize).to_string(),
                score,
                commits,
            })
            .collect();
        votes.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.file.cmp(&b.file)));
        votes
    }

    /// The files changed together with `file` at least `min_together` times, most often first, at
    /// most `limit`; and how many commits changed `file` (commits over `COCHANGE_MAX_FILES` files
    /// count for neither: a reformatting says nothing about what belongs together).
    pub fn changed_with(&self, file: &str, min_together: u32, limit: usize) -> (u32, Vec<CoChange>) {
        let Some(id) = self.paths.position(file) else { return (0, Vec::new()) };
        let commits = self.file_commits.get(id);
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for &c in commits.iter() {
            for &other in self.files.get(c as usize).iter().filter(|&&f| f as usize != id) {
                *counts.entry(other).or_default() += 1;
            }
        }
        let mut together: Vec<(u32, u32)> = counts.into_iter().filter(|(_, n)| *n >= min_together).collect();
        together
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| self.paths.get(a.0 as usize).cmp(self.paths.get(b.0 as usize))));
        let changes = together
            .into_iter()
            .take(limit)
            .map(|(f, n)| CoChange { file: self.paths.get(f as usize).to_string(), together: n })
            .collect();
        (commits.len() as u32, changes)
    }

    /// The newest commits that changed `file` and say they fix something (`fix`, `bug`, `crash`,
    /// `error`, `regression`, … in the message), as (short id, subject), at most `limit`: evidence
    /// for a debugging playbook, with zero tokens.
    pub fn fixes_of(&self, file: &str, limit: usize) -> Vec<(String, String)> {
        let Some(id) = self.paths.position(file) else { return Vec::new() };
        let mut commits: Vec<u32> = self.file_commits.get(id).to_vec();
        commits.sort_unstable();
        commits
            .into_iter()
            .filter(|&c| {
                let subject = crate::terms::tokenize(self.subjects.get(c as usize));
                subject.iter().any(|word| FIX_WORDS.contains(&word.as_str()))
            })
            .take(limit)
            .map(|c| self.cite(c))
            .collect()
    }

    /// How often `file` changed: (commits that changed it, how many commits newer than its newest
    /// change, of those commits how many say they fix something) — commits over
    /// `COCHANGE_MAX_FILES` files not counted.
    pub fn change_record(&self, file: &str) -> Option<(u32, u32, u32)> {
        let id = self.paths.position(file)?;
        let commits = self.file_commits.get(id);
        let newest = *commits.iter().min()?;
        let fixes = commits
            .iter()
            .filter(|&&c| {
                crate::terms::tokenize(self.subjects.get(c as usize)).iter().any(|w| FIX_WORDS.contains(&w.as_str()))
            })
            .count();
        Some((commits.len() as u32, newest, fixes as u32))
    }

    /// What a question carries into the ranking (`answer::Question::past`): its files by `VOTING`,
    /// at most `QUESTION_FILES`.
    pub fn for_question(&self, question: &str) -> Vec<PastFile> {
        self.files(&crate::terms::tokenize(question), &VOTING, QUESTION_FILES)
    }

    /// `votes` with their evidence, at most `limit` files.
    pub fn files(&self, terms: &[String], voting: &Voting, limit: usize) -> Vec<PastFile> {
        self.votes(terms, voting)
            .into_iter()
            .take(limit)
            .map(|v| PastFile {
                commits: v.commits.len(),
                examples: v.commits.iter().take(EXAMPLES).map(|&c| self.cite(c)).collect(),
                file: v.file,
                score: v.score,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(id: &str, message: &str, files: &[&str]) -> PastCommit {
        PastCommit {
            id: id.into(),
            subject: message.lines().next().unwrap_or("").into(),
            message: message.into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            files_touched: files.len() as u32,
        }
    }

    #[test]
    fn similar_fixes_vote_for_what_they_changed_and_big_commits_count_less() {
        let mut refactor: Vec<String> = (0..50).map(|i| format!("pkg/m{i}.py")).collect();
        refactor.push("pkg/other.py".into());
        let refactor_files: Vec<&str> = refactor.iter().map(String::as_str).collect();
        let past = PastChanges::new(vec![
            commit(
                "a1b2c3d4e5f6",
                "Fixed #1 -- Moved MEDIA_URL validation to settings",
                &["conf/settings.py", "tests/t.py"],
            ),
            commit("b2", "Refactored media handling and validation everywhere", &refactor_files),
            commit("c3", "Docs: typo", &["docs/index.rst"]),
        ]);
        let votes = past.votes(&crate::terms::tokenize("MEDIA_URL validation fails"), &VOTING);
        assert_eq!(votes[0].file, "conf/settings.py");
        assert_eq!(votes[0].commits, vec![0]);
        assert_eq!(past.cite(0), ("a1b2c3d".into(), "Fixed #1 -- Moved MEDIA_URL validation to settings".into()));
        let other = votes.iter().find(|v| v.file == "pkg/other.py").unwrap();
        assert!(other.score < votes[0].score / 5.0, "{other:?}");
        assert!(votes.iter().all(|v| v.file != "docs/index.rst"), "a commit about nothing asked does not vote");
        assert!(past.votes(&crate::terms::tokenize("unrelated words"), &VOTING).is_empty());
    }

    #[test]
    fn files_changed_together_are_counted_and_big_commits_ignored() {
        let many: Vec<String> = (0..150).map(|i| format!("m{i}.py")).collect();
        let mut reformat: Vec<&str> = many.iter().map(String::as_str).collect();
        reformat.push("a.py");
        let past = PastChanges::new(vec![
            commit("1", "x", &["a.py", "b.py", "tests/test_a.py"]),
            commit("2", "y", &["a.py", "b.py"]),
            commit("3", "z", &["a.py", "c.py"]),
            commit("4", "black", &reformat),
        ]);
        let (of, with) = past.changed_with("a.py", 1, 10);
        assert_eq!(of, 3);
        let found: Vec<(&str, u32)> = with.iter().map(|c| (c.file.as_str(), c.together)).collect();
        assert_eq!(found, [("b.py", 2), ("c.py", 1), ("tests/test_a.py", 1)]);
        assert_eq!(past.changed_with("a.py", 2, 10).1.len(), 1);
        assert_eq!(past.changed_with("missing.py", 1, 10), (0, Vec::new()));
    }

    #[test]
    fn fixes_of_a_file_are_its_newest_commits_that_say_they_fix() {
        let past = PastChanges::new(vec![
            commit("n1", "Fixed #9 -- Crash on empty carts", &["cart.py"]),
            commit("n2", "Refactored the cart", &["cart.py"]),
            commit("n3", "Fix rounding error in prices", &["cart.py", "prices.py"]),
            commit("n4", "Fixed typo in docs", &["docs.rst"]),
        ]);
        let fixes: Vec<String> = past.fixes_of("cart.py", 5).into_iter().map(|(id, _)| id).collect();
        assert_eq!(fixes, ["n100000", "n300000"], "newest first, fixes only");
        assert_eq!(past.fixes_of("cart.py", 1).len(), 1);
        assert!(past.fixes_of("nowhere.py", 5).is_empty());
    }

    #[test]
    fn commits_over_the_cap_do_not_vote() {
        let many: Vec<String> = (0..200).map(|i| format!("m{i}.py")).collect();
        let files: Vec<&str> = many.iter().map(String::as_str).collect();
        let past = PastChanges::new(vec![commit("a", "Reformatted with black", &files)]);
        assert!(past.votes(&crate::terms::tokenize("black reformatted"), &VOTING).is_empty());
    }
}
