"""Point nginx's link at this container's own socket, in one rename: ``serve_socket.py FOLDER``.

Runs inside the app container whose socket it is; FOLDER is the sockets' volume, which nginx mounts too.
The socket is ``<host name>.sock``, as gunicorn.conf.py names it (a container's host name is its ID).
The link is made under a temporary name and renamed over the old one, so nginx never finds the link
missing: each new connection goes to the old container or to the new one, never nowhere. The link's
target is the socket's own name, so it resolves the same in every container that mounts the folder.
Exits 3 (and says so) when the socket is not there: an image whose gunicorn does not make it.
"""

import os
import socket as sockets
import sys

LINK = "serving.sock"


def main(folder: str) -> int:
    socket = f"{sockets.gethostname()}.sock"
    if not os.path.exists(os.path.join(folder, socket)):
        print(f"no socket {socket} in {folder}")
        return 3
    temporary = os.path.join(folder, f".{socket}.link")
    if os.path.lexists(temporary):  # left by an attempt that stopped between its two steps
        os.unlink(temporary)
    os.symlink(socket, temporary)
    os.replace(temporary, os.path.join(folder, LINK))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
