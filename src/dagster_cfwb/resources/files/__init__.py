"""File servers and shares: FTP/FTPS, SFTP and mounted folders (NFS); the new-files sensor is in
`dagster_cfwb.sensors`."""

from dagster_cfwb.resources.files.file_server_base import (
    FileServerConnectionError,
    FileServerError,
    FileServerResource,
    HostKeyError,
)
from dagster_cfwb.resources.files.ftp_resource import FTPResource
from dagster_cfwb.resources.files.nfs_resource import NFSResource
from dagster_cfwb.resources.files.sftp_resource import SFTPResource
from dagster_cfwb.transfer.files.listing import RemoteFile

__all__ = [
    "FTPResource",
    "FileServerConnectionError",
    "FileServerError",
    "FileServerResource",
    "HostKeyError",
    "NFSResource",
    "RemoteFile",
    "SFTPResource",
]
