package dev.comfyless.output;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A killed process's staged downloads are swept at the next start; copies under way and other files are not. */
class StagingFilesTest {

    @TempDir
    Path dir;

    @Test
    void deletesOnlyStagedFilesLastWrittenBeforeTheAge() throws Exception {
        FileOutputStore store = new FileOutputStore(dir);
        Path left = store.staging("t1", "a.png");
        Path underWay = store.staging("t2", "b.png");
        Path other = Files.writeString(store.stagingDir().resolve("notes.txt"), "x");
        assertThat(left.getParent()).isEqualTo(store.stagingDir());
        FileTime twoHoursAgo = FileTime.from(Instant.now().minus(Duration.ofHours(2)));
        Files.setLastModifiedTime(left, twoHoursAgo);
        Files.setLastModifiedTime(other, twoHoursAgo);

        assertThat(StagingFiles.sweep(store.stagingDir(), Duration.ofHours(1))).isEqualTo(1);
        assertThat(left).doesNotExist();
        assertThat(underWay).exists();
        assertThat(other).exists();
    }

    @Test
    void aMissingFolderIsNothingToSweep() throws Exception {
        assertThat(StagingFiles.sweep(dir.resolve("none"), Duration.ofHours(1))).isZero();
    }
}
