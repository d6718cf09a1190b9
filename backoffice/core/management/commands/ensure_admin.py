import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

CREDENTIALS = "admin-credentials.txt"


class Command(BaseCommand):
    help = "Make sure a local admin user exists (with an API token) and print its login. For development."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        path = settings.VAR_DIR / CREDENTIALS
        user = User.objects.filter(username=username).first()
        password = None
        if user is not None and path.exists():
            stored_user, _, stored_password = path.read_text().strip().partition(":")
            if stored_user == username and user.check_password(stored_password):
                password = stored_password
        if password is None:
            password = secrets.token_urlsafe(12)
            if user is None:
                user = User.objects.create_superuser(username=username, email="", password=password)
            else:
                user.set_password(password)
                user.is_superuser = user.is_staff = user.is_active = True
                user.save()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{username}:{password}\n")
            path.chmod(0o600)
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(self.style.SUCCESS(f"  Admin login: {username} / {password}"))
        self.stdout.write(f"  API token:   {token.key}   (Authorization: Token {token.key})")
