"""Small widgets shared by the screens: status badges, the cumulative gauge, unit inputs."""
