package id.ektp.examples.station;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Files that are on disk once a method returns: written, fsynced, and their folder entry fsynced too. */
final class Durable {
    private Durable() {
    }

    /** `path` holds `data` whole, or keeps what it held: a crash never leaves half a file under its name. */
    static void writeAtomically(Path path, byte[] data) throws IOException {
        Path partial = path.resolveSibling(path.getFileName() + ".partial");
        try (FileChannel file = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            file.write(ByteBuffer.wrap(data));
            file.force(true);
        }
        Files.move(partial, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncFolder(path.getParent());
    }

    /** Makes the folder's entries (a new or renamed file) survive a power cut. */
    static void syncFolder(Path folder) throws IOException {
        try (FileChannel directory = FileChannel.open(folder, StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    /** A folder only its owner can read: cards and the journal hold personal data. */
    static void privateFolder(Path folder) throws IOException {
        Files.createDirectories(folder);
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
    }
}
